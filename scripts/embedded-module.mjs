// Bundled into the single-file agent artifact by scripts/build-artifact.mjs (never run from here):
// evaluates a module that the artifact carries as a compressed CommonJS bundle, on its first
// import. That keeps what only a leader or an SFTP bundle fetch needs (the AWS SDK, ssh2) out of
// a follower's heap while the artifact stays one file: an idle agent holds only the compressed
// text, as part of the artifact's source.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, runInThisContext } from 'node:vm';
import { brotliDecompressSync } from 'node:zlib';

/**
 * The exports of embedded module `name`, whose CommonJS source is `blob` (brotli, as a string of
 * `encoding`: 'latin1' in the artifact itself, one character per byte, 'base64' nested), run
 * as if it were the artifact at `artifactUrl` itself: its require, __filename, __dirname and
 * import.meta.url (the build defines that as __ppImportMetaUrl) are the artifact's, as they were
 * when the module was part of the artifact's main bundle. __ppArtifactUrl is what the modules
 * embedded in this one pass back here.
 */
export function loadEmbedded(name, blob, artifactUrl, encoding = 'base64') {
  const source = brotliDecompressSync(Buffer.from(blob, encoding)).toString('utf8');
  const file = fileURLToPath(artifactUrl);
  const wrapper = runInThisContext(
    `(function (exports, require, module, __filename, __dirname, __ppImportMetaUrl, __ppArtifactUrl) {${source}\n})`,
    { filename: `${file}#${name}`, importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER },
  );
  const module = { exports: {} };
  wrapper(module.exports, createRequire(artifactUrl), module, file, dirname(file), artifactUrl, artifactUrl);
  return module.exports;
}
