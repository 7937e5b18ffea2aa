import { join } from 'node:path';
import { which } from '../../shared/which.ts';
import { refused, runTool } from './run-tool.ts';
import type { ApplyOptions, ApplyResult, Resolver } from './types.ts';

/** chef-solo (or its free rebuild cinc-solo): `chef-solo -c solo.rb -j dna.json` in the bundle. */

export const CHEF_BINARIES = ['chef-solo', 'cinc-solo'] as const;
export const CHEF_INSTALL_HINT =
  'neither chef-solo nor cinc-solo is on PATH: install Cinc Client (https://cinc.sh) or Chef Infra Client';

export interface ChefSoloOptions {
  /** Executables tried in order. Default chef-solo, then cinc-solo. */
  binaries?: readonly string[];
  /** Where chef-solo keeps its cache (POOLPARTY_CHEF_CACHE, read by solo.rb). */
  cacheDir?: string;
}

export function chefSoloResolver(options: ChefSoloOptions = {}): Resolver {
  const find = async () => {
    for (const bin of options.binaries ?? CHEF_BINARIES) {
      const path = await which(bin);
      if (path) return path;
    }
    return undefined;
  };
  return {
    name: 'chef-solo',
    async available() {
      return (await find()) ? true : CHEF_INSTALL_HINT;
    },
    async apply(bundleDir: string, opts: ApplyOptions): Promise<ApplyResult> {
      const bin = await find();
      if (!bin) return refused('chef-solo', CHEF_INSTALL_HINT);
      const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env), CHEF_LICENSE: 'accept-no-persist' };
      if (options.cacheDir) env.POOLPARTY_CHEF_CACHE = options.cacheDir;
      const args = ['-c', join(bundleDir, 'solo.rb'), '-j', join(bundleDir, 'dna.json'), '--no-color'];
      return runTool('chef-solo', bin, args, bundleDir, { ...opts, env }, (code) =>
        code === 0 ? { ok: true, changed: null } : { ok: false, error: `chef-solo exited with ${code}` },
      );
    },
  };
}
