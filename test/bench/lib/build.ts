import { join } from 'node:path';
import { build } from 'esbuild';

export interface BenchBuild {
  host: string;
  agent: string;
}

/**
 * Bundles the bench's child entry points with the same esbuild options as `npm run build`
 * (scripts/build.mjs), so children run plain JS like the production daemon — no TypeScript loader
 * in their memory or CPU figures — and always from the current source, never a stale dist/.
 */
export async function buildChildren(root: string, outdir: string): Promise<BenchBuild> {
  await build({
    entryPoints: {
      'bench-host': join(root, 'test/bench/host.ts'),
      'bench-agent': join(root, 'test/bench/stall-agent.ts'),
    },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  return { host: join(outdir, 'bench-host.mjs'), agent: join(outdir, 'bench-agent.mjs') };
}
