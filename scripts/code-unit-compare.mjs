// An esbuild plugin for the single-file artifact (scripts/build-artifact.mjs): libp2p's peer store
// and peer record sort with String.prototype.localeCompare, and the first call of it pages ICU's
// collation data of the node binary into every agent (−2.1 MB RSS per idle follower when it is
// gone, BENCHMARKS.md "RSS per idle follower"). Each call is rewritten to a plain code-unit
// comparison as the file is bundled.
//
// Why that is safe: what these sort are multiaddr strings, protocol ids and metadata keys, all
// ASCII, and the order is used only to make stored lists deterministic (to compare a peer's old
// and new record, to dedupe addresses) - never shown or compared with another implementation's
// order. Any total order works; the code-unit order is total, and for ASCII the only difference
// from the root collation is case and punctuation placement, which nothing depends on.
//
// Every rewrite names the exact text it expects and how often. A file whose text no longer matches
// (a libp2p upgrade) fails the build with the file and the snippet, so the cut cannot silently
// disappear; update the table from the new file.
import { readFile } from 'node:fs/promises';

/** a < b ? -1 : a > b ? 1 : 0 for two string expressions, each evaluated once. */
const codeUnitOrder = (a, b) => `((x, y) => (x < y ? -1 : x > y ? 1 : 0))(${a}, ${b})`;

/**
 * Package file (its path under node_modules) → the rewrites in it: the exact text, how many times
 * it must occur, and what replaces it.
 */
export const LOCALE_COMPARE_REWRITES = {
  '@libp2p/peer-store/dist/src/utils/to-peer-pb.js': [
    { find: 'return a.localeCompare(b);', count: 2, replace: `return ${codeUnitOrder('a', 'b')};` },
  ],
  '@libp2p/peer-store/dist/src/utils/dedupe-addresses.js': [
    {
      find: 'return a.multiaddr.toString().localeCompare(b.multiaddr.toString());',
      count: 1,
      replace: `return ${codeUnitOrder('a.multiaddr.toString()', 'b.multiaddr.toString()')};`,
    },
  ],
  '@libp2p/peer-record/dist/src/peer-record/utils.js': [
    {
      find: 'const sort = (a, b) => a.toString().localeCompare(b.toString());',
      count: 1,
      replace: `const sort = (a, b) => ${codeUnitOrder('a.toString()', 'b.toString()')};`,
    },
  ],
};

/** Thrown when a file of the table no longer holds its expected text: the build must not go on. */
export class RewriteMismatchError extends Error {
  name = 'RewriteMismatchError';
}

/** `text` of `file` with `rewrites` applied; throws RewriteMismatchError if a snippet's count differs. */
export function applyRewrites(file, text, rewrites) {
  let out = text;
  for (const { find, count, replace } of rewrites) {
    const found = out.split(find).length - 1;
    if (found !== count) {
      throw new RewriteMismatchError(
        `${file}: expected ${count} of ${JSON.stringify(find)}, found ${found} ` +
          '(the dependency changed: update LOCALE_COMPARE_REWRITES in scripts/code-unit-compare.mjs)',
      );
    }
    out = out.replaceAll(find, replace);
  }
  return out;
}

/**
 * The plugin. `seen` (a Set) collects the table's files as they are bundled, so the build can
 * check afterwards that every one was (a file libp2p stopped importing would otherwise be skipped
 * without notice).
 */
export const codeUnitCompare = (seen = new Set(), table = LOCALE_COMPARE_REWRITES) => ({
  name: 'code-unit-compare',
  setup(b) {
    const files = Object.keys(table);
    const escaped = files.map((f) => f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
    b.onLoad({ filter: new RegExp(`node_modules/(${escaped.join('|')})$`) }, async (args) => {
      const file = files.find((f) => args.path.endsWith(`node_modules/${f}`));
      seen.add(file);
      return { contents: applyRewrites(file, await readFile(args.path, 'utf8'), table[file]), loader: 'js' };
    });
  },
});

/** Throws unless every file of `table` went through the plugin (`seen`). */
export function assertAllRewritten(seen, table = LOCALE_COMPARE_REWRITES) {
  const missing = Object.keys(table).filter((f) => !seen.has(f));
  if (missing.length > 0) {
    throw new RewriteMismatchError(
      `not bundled any more: ${missing.join(', ')} (update LOCALE_COMPARE_REWRITES in scripts/code-unit-compare.mjs)`,
    );
  }
}
