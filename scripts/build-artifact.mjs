// Bundles the agent with every dependency into one ESM file, dist/artifact/poolparty-agent.mjs,
// that runs with a plain `node` (>= 20.19) and no node_modules: the SSH provisioner uploads this
// single file to /opt/poolparty. Also writes dist/artifact/poolparty-agent.json ({ version,
// sha256, bytes }) so a provisioner can verify what it uploads and skip an unchanged upload.
//
// Usage: node scripts/build-artifact.mjs [--outdir DIR]
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = resolve(values.outdir ?? join('dist', 'artifact'));
const outfile = join(outdir, 'poolparty-agent.mjs');

// Optional native or platform-specific modules that their packages require inside try/catch
// (ssh2's compiled crypto binding and cpu-features, systeminformation's macOS sensors). Left
// external they fail to load at runtime and the packages fall back to pure JS, which is the point:
// the artifact must not depend on anything next to it on disk.
const optionalNative = ['*.node', 'cpu-features', 'osx-temperature-sensor', 'macos-temperature-sensor'];

const started = Date.now();
await mkdir(outdir, { recursive: true });
await build({
  entryPoints: ['agent/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  external: optionalNative,
  // CommonJS dependencies (systeminformation, prom-client, ssh2) call require(); an ESM bundle has
  // none, so give it one. __filename/__dirname for the same reason.
  banner: {
    js: [
      "import { createRequire as __ppCreateRequire } from 'node:module';",
      "import { fileURLToPath as __ppFileURLToPath } from 'node:url';",
      "import { dirname as __ppDirname } from 'node:path';",
      'const require = __ppCreateRequire(import.meta.url);',
      'const __filename = __ppFileURLToPath(import.meta.url);',
      'const __dirname = __ppDirname(__filename);',
    ].join(''),
  },
  logLevel: 'warning',
});

const bytes = await readFile(outfile);
const { version } = JSON.parse(await readFile('package.json', 'utf8'));
const manifest = { version, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
await writeFile(join(outdir, 'poolparty-agent.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(JSON.stringify({ msg: 'built-artifact', file: outfile, ...manifest, ms: Date.now() - started }));
