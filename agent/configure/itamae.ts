import { join } from 'node:path';
import { which } from '../../shared/which.ts';
import type { LogSink } from './process.ts';
import { onlyGeneratedRecipe, refused, runTool } from './run-tool.ts';
import type { ApplyOptions, ApplyResult, Resolver } from './types.ts';

/**
 * itamae runs the generated Chef-DSL recipe directly (`itamae local`), with dna.json as node
 * attributes. Not with `--detailed-exitcode`: itamae 1.14 exits 2 both for "changed" under that
 * flag and for a failed resource (base.rb rescues CommandExecutionError with exit 2), so a failed
 * run read as applied. Without it, 0 is success and anything else failure; whether anything changed
 * is read from its "will change from" lines.
 */

export const ITAMAE_INSTALL_HINT = "itamae is not on PATH: install the Debian package 'itamae' (or gem install itamae)";

/** A resource itamae is about to change ("file[/x] exist will change from 'false' to 'true'"). */
const CHANGE_LINE = /\] \S+ will change from /;
/** A resource that failed ("ERROR :   execute[false] Failed."): named in the error. */
const FAILED_LINE = /ERROR :\s+(\S.*\])\s+Failed\.\s*$/;

export interface ItamaeOptions {
  /** Executable. Default 'itamae' from PATH. */
  binary?: string;
  /** itamae's scratch directory. Default its own (/tmp/itamae_tmp). */
  tmpDir?: string;
}

export function itamaeResolver(options: ItamaeOptions = {}): Resolver {
  const find = () => which(options.binary ?? 'itamae');
  return {
    name: 'itamae',
    async available() {
      return (await find()) ? true : ITAMAE_INSTALL_HINT;
    },
    async apply(bundleDir: string, opts: ApplyOptions): Promise<ApplyResult> {
      const bin = await find();
      if (!bin) return refused('itamae', ITAMAE_INSTALL_HINT);
      const refusal = await onlyGeneratedRecipe('itamae', bundleDir);
      if (refusal) return refused('itamae', refusal);
      const args = ['local', '--no-color', '-j', join(bundleDir, 'dna.json')];
      if (options.tmpDir) args.push('--tmp-dir', options.tmpDir);
      args.push(join(bundleDir, 'cookbooks', 'poolparty', 'recipes', 'default.rb'));
      const seen = { changed: false, failed: undefined as string | undefined };
      const onLog: LogSink = (line, stream) => {
        if (CHANGE_LINE.test(line)) seen.changed = true;
        const failed = FAILED_LINE.exec(line);
        if (failed && !seen.failed) seen.failed = failed[1];
        opts.onLog?.(line, stream);
      };
      return runTool('itamae', bin, args, bundleDir, { ...opts, onLog }, (code) =>
        code === 0
          ? { ok: true, changed: seen.changed }
          : { ok: false, error: `itamae exited with ${code}${seen.failed ? `: ${seen.failed} failed` : ''}` },
      );
    },
  };
}
