// Transpiles the TypeScript entry points into dist/ (dependencies stay external in node_modules).
// Runs on `npm ci` (prepare), so `npx poolparty` works right after install.
//
// Usage: node scripts/build.mjs [--outdir DIR]
// The benchmarks build their in-process host with buildDist() so it is bundled like this build.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

/** The package root: entry points are relative to it. */
const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

const ENTRIES = {
  poolparty: 'cli/main.ts',
  'poolparty-agent': 'agent/main.ts',
  index: 'shared/index.ts',
};

/**
 * Builds `entries` (name → path from the package root) into `outdir` as `<name>.mjs`, with
 * dependencies left in node_modules.
 */
export async function buildDist({ entries = ENTRIES, outdir = resolve(root, 'dist') } = {}) {
  const started = Date.now();
  await build({
    absWorkingDir: root,
    entryPoints: entries,
    outdir: resolve(outdir),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Dynamic imports become chunks, so provider SDKs load only when a leader first needs them, and
    // the CLI loads a command's handler (and its dependencies) only when that command runs.
    splitting: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  return { outdir: resolve(outdir), entries: Object.keys(entries), ms: Date.now() - started };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const built = await buildDist({ outdir: values.outdir ?? 'dist' });
  console.log(JSON.stringify({ msg: 'built', ...built }));
}
