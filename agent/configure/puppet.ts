import { join } from 'node:path';
import { which } from '../../shared/which.ts';
import type { LogSink } from './process.ts';
import { PuppetFailures } from './puppet-failures.ts';
import { onlyGeneratedRecipe, refused, runTool } from './run-tool.ts';
import type { ApplyOptions, ApplyResult, Resolver } from './types.ts';

/**
 * `puppet apply --detailed-exitcodes manifests/site.pp`: exit 0 = nothing to do, 2 = changes
 * applied (both success), 4 = failures, 6 = changes and failures.
 */

export const PUPPET_INSTALL_HINT = "puppet is not on PATH: install the Debian package 'puppet' (or puppet-agent)";

export interface PuppetOptions {
  /** Executable. Default 'puppet' from PATH. */
  binary?: string;
  /**
   * Keep puppet's conf/var/log/run/code dirs under this directory instead of the system ones
   * (tests, or a node where puppet is only PoolParty's engine).
   */
  stateDir?: string;
}

export function puppetResolver(options: PuppetOptions = {}): Resolver {
  const find = () => which(options.binary ?? 'puppet');
  return {
    name: 'puppet',
    async available() {
      return (await find()) ? true : PUPPET_INSTALL_HINT;
    },
    async apply(bundleDir: string, opts: ApplyOptions): Promise<ApplyResult> {
      const bin = await find();
      if (!bin) return refused('puppet', PUPPET_INSTALL_HINT);
      const refusal = await onlyGeneratedRecipe('puppet', bundleDir);
      if (refusal) return refused('puppet', refusal);
      const args = ['apply', '--detailed-exitcodes', '--color=false'];
      if (options.stateDir) {
        for (const d of ['confdir', 'vardir', 'logdir', 'rundir', 'codedir'])
          args.push(`--${d}`, join(options.stateDir, d));
      }
      args.push(join(bundleDir, 'manifests', 'site.pp'));
      const failures = new PuppetFailures();
      const onLog: LogSink = (line, stream) => {
        failures.read(line);
        opts.onLog?.(line, stream);
      };
      return runTool('puppet', bin, args, bundleDir, { ...opts, onLog }, (code) =>
        code === 0 || code === 2
          ? { ok: true, changed: code === 2 }
          : {
              ok: false,
              error: `puppet apply exited with ${code}${code & 4 ? ' (resources failed)' : ''}${failures.describe()}`,
            },
      );
    },
  };
}
