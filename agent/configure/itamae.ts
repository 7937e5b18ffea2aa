import { join } from 'node:path';
import { which } from '../../shared/which.ts';
import { onlyGeneratedRecipe, refused, runTool } from './run-tool.ts';
import type { ApplyOptions, ApplyResult, Resolver } from './types.ts';

/**
 * itamae runs the generated Chef-DSL recipe directly (`itamae local`), with dna.json as node
 * attributes. `--detailed-exitcode` makes it say whether anything changed (exit 2).
 */

export const ITAMAE_INSTALL_HINT = "itamae is not on PATH: install the Debian package 'itamae' (or gem install itamae)";

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
      const args = ['local', '--no-color', '--detailed-exitcode', '-j', join(bundleDir, 'dna.json')];
      if (options.tmpDir) args.push('--tmp-dir', options.tmpDir);
      args.push(join(bundleDir, 'cookbooks', 'poolparty', 'recipes', 'default.rb'));
      return runTool('itamae', bin, args, bundleDir, opts, (code) =>
        code === 0 || code === 2
          ? { ok: true, changed: code === 2 }
          : { ok: false, error: `itamae exited with ${code}` },
      );
    },
  };
}
