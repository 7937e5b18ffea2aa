// Bundles the agent with every dependency into one ESM file, dist/artifact/poolparty-agent.mjs,
// that runs with a plain `node` (>= 20.19) and no node_modules: the SSH provisioner uploads this
// single file to /opt/poolparty (EC2 nodes download it from using.agentUrl or have it baked into
// their image). Also writes dist/artifact/poolparty-agent.json ({ version, sha256, bytes }) so a
// provisioner can verify what it uploads and skip an unchanged upload.
//
// Lazily loaded parts stay inside that one file. The modules in LAZY (the remoter providers, with
// the AWS SDK and ssh2, the SFTP bundle source, the config parser) are what the agent imports
// dynamically and only a leader, a node fetching its bundle over SFTP, or the start ever needs.
// Each is bundled on its own as self-contained CommonJS, brotli-compressed and embedded as a
// string of one character per byte (Latin-1; base64 inside another embedded module); the agent's
// `import()` of it evaluates it on first use
// (scripts/embedded-module.mjs). An idle follower runs the config parser once, garbage afterwards,
// and never parses or runs the others: its heap holds their compressed text only. An embedded
// module carries its own copy of the shared code it uses (config schemas, pool key helpers), so
// nothing may rely on class identity across that boundary (`instanceof` of an error a provider
// threw, say).
//
// Usage: node scripts/build-artifact.mjs [--outdir DIR] [--no-minify]
// The benchmarks build their agent child with buildArtifact() so they measure this very build.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants } from 'node:zlib';
import { build } from 'esbuild';
import { assertAllRewritten, codeUnitCompare } from './code-unit-compare.mjs';

// Optional native or platform-specific modules that their packages require inside try/catch
// (ssh2's compiled crypto binding and cpu-features, systeminformation's macOS sensors). Left
// external they fail to load at runtime and the packages fall back to pure JS, which is the point:
// the artifact must not depend on anything next to it on disk.
const optionalNative = ['*.node', 'cpu-features', 'osx-temperature-sensor', 'macos-temperature-sensor'];

/** The package root: every path below (entry points, LAZY keys) is relative to it. */
const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

// What a leader running this file needs and would otherwise read from the package: the systemd
// unit it hands new instances (shared/package-files.ts).
const ARTIFACT_DEFINE = {
  __POOLPARTY_ARTIFACT__: JSON.stringify({
    unit: await readFile(join(root, 'systemd', 'poolparty-agent.service'), 'utf8'),
  }),
};

/**
 * Dynamically imported modules embedded compressed (see above), by path from the package root or
 * package name, each with its name in the artifact. An embedded module's own dynamic imports of
 * these are embedded in it in turn (load.ts carries the four providers, each loaded on its own).
 * - agent/config.ts: the agent config's zod schema, run once at start. Embedded and TRANSIENT,
 *   zod and the schema are garbage once the config is read (about 1 MB of every agent's heap).
 * - shared/remoter/load.ts and the providers: a leader's (config schemas, AWS SDK, ssh2).
 * - agent/bundle/sftp-source.ts: ssh2, for a node that fetches its bundle over SFTP.
 * - systeminformation: only where /proc/meminfo is missing (agent/metrics/system.ts).
 */
const LAZY = {
  'agent/config.ts': 'agent-config',
  'shared/remoter/load.ts': 'remoter',
  'shared/remoter/ec2.ts': 'remoter-ec2',
  'shared/remoter/ssh.ts': 'remoter-ssh',
  'shared/remoter/local.ts': 'remoter-local',
  'shared/remoter/vsphere.ts': 'remoter-vsphere',
  'agent/bundle/sftp-source.ts': 'sftp-source',
  systeminformation: 'systeminformation',
};
/**
 * LAZY modules used once, at start: nothing may keep them alive afterwards. An embedded module's
 * exports are cached by the import that loads it (esbuild's CommonJS wrapper) and zod keeps its
 * registry, and with it the whole bundle's scope, on globalThis. So a TRANSIENT module's exports
 * are getters that evaluate it afresh on each read (main.ts reads readAgentConfig once), and its
 * globalThis is a throwaway object over the real one: reads see every global, writes stay its own.
 * A heap snapshot of an idle follower holds none of zod (test/agent-footprint.test.ts).
 */
const TRANSIENT = new Set(['agent/config.ts']);

/**
 * Noise's WebAssembly cipher and hash, which the agent's noise crypto does not use
 * (agent/p2p/noise-crypto.ts seals with node:crypto), resolve to scripts/no-wasm-crypto.mjs: noise
 * imports them at load and would compile them, and allocate their memories, in every agent.
 */
const noWasmCrypto = {
  name: 'no-wasm-crypto',
  setup(b) {
    b.onResolve({ filter: /^@chainsafe\/as-(chacha20poly1305|sha256)$/ }, () => ({
      path: join(root, 'scripts', 'no-wasm-crypto.mjs'),
    }));
  },
};

/** The names `path` exports (an ES module build's metafile lists them; the CommonJS one does not). */
async function exportNames(path) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [path],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  return Object.values(result.metafile.outputs)[0].exports;
}

/** One LAZY module as a minified CommonJS bundle, brotli-compressed; its sizes go to `embedded`. */
async function embeddedSource(path, embedded) {
  const transient = TRANSIENT.has(path);
  const result = await build({
    absWorkingDir: root,
    entryPoints: [path],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    external: optionalNative,
    // The artifact's URL, passed in by the loader: paths derived from it stay what they were.
    define: {
      'import.meta.url': '__ppImportMetaUrl',
      ...ARTIFACT_DEFINE,
      ...(transient ? { globalThis: '__ppGlobal' } : {}),
    },
    ...(transient ? { banner: { js: 'var __ppGlobal = Object.create(globalThis);' } } : {}),
    plugins: [embedLazy(embedded), codeUnitCompare(), noWasmCrypto],
    logLevel: 'warning',
  });
  const code = result.outputFiles[0].contents;
  const packed = brotliCompressSync(code, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: code.length },
  });
  embedded[LAZY[path]] = { bytes: code.length, compressed: packed.length };
  return packed;
}

/**
 * `bytes` as a JavaScript string literal of one Latin-1 character per byte. V8 keeps the artifact's
 * whole source for as long as the agent runs (it compiles functions lazily from it), so every
 * embedded module's text costs each agent its length in heap: one character per byte here against
 * base64's four per three (−0.33 MB for the 1 MB of modules). Only the characters a double-quoted
 * literal may not hold raw are escaped; every character is below U+0100, so the file, UTF-8 on
 * disk, is still read into a one-byte string (a character above U+00FF would double the whole
 * source: esbuild's own output stays ASCII).
 */
export function latin1Literal(bytes) {
  const escapes = { 0: '\\x00', 10: '\\n', 13: '\\r', 34: '\\"', 92: '\\\\' };
  let out = '"';
  for (let i = 0; i < bytes.length; i += 8192) {
    const chunk = bytes.subarray(i, i + 8192);
    out += String.fromCharCode(...chunk).replace(/[\0\n\r"\\]/g, (c) => escapes[c.charCodeAt(0)]);
  }
  return `${out}"`;
}

/** Where the artifact's build puts each top-level embedded module's literal (latin1Literal) after esbuild. */
const placeholder = (name) => `@@poolparty-embedded:${name}@@`;

/**
 * The esbuild plugin that embeds LAZY modules (their sizes go to `embedded`). With `latin1` (a Map,
 * the artifact's own build) a module's compressed bytes go into it and its call holds a
 * placeholder that buildArtifact replaces with latin1Literal; in an embedded module, base64.
 */
const embedLazy = (embedded, latin1) => ({
  name: 'embed-lazy',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const path = args.path in LAZY ? args.path : relative(root, resolve(args.resolveDir, args.path));
      return path in LAZY ? { path, namespace: 'embedded' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'embedded' }, async (args) => ({
      contents: [
        `const { loadEmbedded } = require(${JSON.stringify(join(root, 'scripts', 'embedded-module.mjs'))});`,
        // __ppArtifactUrl: the banner's import.meta.url (import.meta here would make this an ES module).
        `const load = () => loadEmbedded(${JSON.stringify(LAZY[args.path])}, ${await blobArg(args.path, embedded, latin1)}, __ppArtifactUrl, ${JSON.stringify(latin1 ? 'latin1' : 'base64')});`,
        TRANSIENT.has(args.path)
          ? `for (const k of ${JSON.stringify(await exportNames(args.path))}) Object.defineProperty(module.exports, k, { enumerable: true, get: () => load()[k] });`
          : 'module.exports = load();',
      ].join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
});

/** The blob argument of one embedded module's loadEmbedded call (see embedLazy). */
async function blobArg(path, embedded, latin1) {
  const packed = await embeddedSource(path, embedded);
  if (!latin1) return JSON.stringify(packed.toString('base64'));
  latin1.set(LAZY[path], packed);
  return JSON.stringify(placeholder(LAZY[path]));
}

/**
 * Builds `<outdir>/<name>.mjs` from `entry` (paths relative to the package root) and its manifest
 * `<name>.json`. The bench builds its agent child (test/bench/stall-agent.ts) here too, so what it
 * measures is bundled, embedded and minified exactly like what ships. `minify: false` is for CPU
 * profiles only: the same code with its function names (`--no-minify` on the command line).
 */
export async function buildArtifact({
  entry = 'agent/main.ts',
  outdir = join(root, 'dist', 'artifact'),
  name = 'poolparty-agent',
  minify = true,
} = {}) {
  const started = Date.now();
  const outfile = join(resolve(outdir), `${name}.mjs`);
  const embedded = {};
  const latin1 = new Map();
  // The peer store's files the localeCompare rewrite went through: all of them, checked below.
  const rewritten = new Set();
  await mkdir(resolve(outdir), { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify,
    sourcemap: false,
    legalComments: 'none',
    external: optionalNative,
    define: ARTIFACT_DEFINE,
    // No localeCompare in libp2p's peer store: it pages in ICU collation (scripts/code-unit-compare.mjs).
    plugins: [embedLazy(embedded, latin1), codeUnitCompare(rewritten), noWasmCrypto],
    // CommonJS dependencies (systeminformation, prom-client, ssh2) call require(); an ESM bundle has
    // none, so give it one. __filename/__dirname for the same reason.
    banner: {
      js: [
        "import { createRequire as __ppCreateRequire } from 'node:module';",
        "import { fileURLToPath as __ppFileURLToPath } from 'node:url';",
        "import { dirname as __ppDirname } from 'node:path';",
        'const __ppArtifactUrl = import.meta.url;',
        'const require = __ppCreateRequire(import.meta.url);',
        'const __filename = __ppFileURLToPath(import.meta.url);',
        'const __dirname = __ppDirname(__filename);',
      ].join(''),
    },
    logLevel: 'warning',
  });
  assertAllRewritten(rewritten);
  let text = await readFile(outfile, 'utf8');
  for (const [name, packed] of latin1) {
    const quoted = JSON.stringify(placeholder(name));
    const at = text.indexOf(quoted);
    if (at < 0 || text.includes(quoted, at + 1)) throw new Error(`embedded module ${name}: not one placeholder`);
    text = `${text.slice(0, at)}${latin1Literal(packed)}${text.slice(at + quoted.length)}`;
  }
  await writeFile(outfile, text, 'utf8');

  const bytes = await readFile(outfile);
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  const manifest = { version, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  await writeFile(join(resolve(outdir), `${name}.json`), `${JSON.stringify(manifest, null, 2)}\n`);
  return { file: outfile, ...manifest, embedded, ms: Date.now() - started };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' }, 'no-minify': { type: 'boolean' } } });
  const built = await buildArtifact({
    outdir: values.outdir ?? join('dist', 'artifact'),
    minify: !values['no-minify'],
  });
  console.log(JSON.stringify({ msg: 'built-artifact', ...built }));
}
