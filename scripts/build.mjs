// Transpiles the TypeScript entry points into dist/ (dependencies stay external in node_modules).
// Runs on `npm ci` (prepare), so `npx poolparty` works right after install.
import { build } from 'esbuild';

const entries = {
  poolparty: 'cli/main.ts',
  'poolparty-agent': 'agent/main.ts',
  index: 'shared/index.ts',
};

const started = Date.now();
await build({
  entryPoints: entries,
  outdir: 'dist',
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
console.log(JSON.stringify({ msg: 'built', outdir: 'dist', entries: Object.keys(entries), ms: Date.now() - started }));
