// Transpiles the TypeScript entry points into dist/ (dependencies stay external in node_modules).
// Runs on `npm ci` (prepare), so `npx poolparty` works right after install.
//
// Usage: node scripts/build.mjs [--outdir DIR]
// The benchmarks build their in-process host with buildDist() so it is bundled like this build.
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
  const result = await build({
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
    metafile: true,
  });
  const built = new Set(Object.keys(result.metafile.outputs).map((out) => resolve(root, out)));
  const pruned = pruneStale(resolve(outdir), built);
  return { outdir: resolve(outdir), entries: Object.keys(entries), pruned, ms: Date.now() - started };
}

/**
 * Chunk names carry content hashes, so every change leaves the previous build's chunks behind
 * (thousands after a day of work). Files this build did not write are removed once they are an
 * hour old: a process started from a recent build (another test run, a running local pool) may
 * still import one of its lazily loaded chunks, and must find it.
 */
function pruneStale(outdir, built, maxAgeMs = 60 * 60 * 1000) {
  const cutoff = Date.now() - maxAgeMs;
  let pruned = 0;
  for (const entry of readdirSync(outdir, { withFileTypes: true })) {
    if (!entry.isFile() || !/\.mjs(\.map)?$/.test(entry.name)) continue;
    const path = join(outdir, entry.name);
    if (built.has(path)) continue;
    try {
      if (statSync(path).mtimeMs < cutoff) {
        unlinkSync(path);
        pruned += 1;
      }
    } catch {
      // Another build pruned it first: nothing left to do.
    }
  }
  return pruned;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const built = await buildDist({ outdir: values.outdir ?? 'dist' });
  console.log(JSON.stringify({ msg: 'built', ...built }));
}
