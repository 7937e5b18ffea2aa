// Fails (exit 1) when the source folders break the layering the project's layout promises:
//   - an import cycle among agent/, cli/ and shared/ (type-only and dynamic imports count: a cycle
//     of types still ties two files together, and a dynamic import is still a dependency);
//   - cli/ importing agent/ (the laptop never runs agent code), agent/ importing cli/, or shared/
//     importing either (shared/ is what both sides use, so it depends on neither).
// Imports are read with TypeScript's own pre-processor, so comments and strings never count.
// Usage: node scripts/check-imports.mjs [ROOT]   (ROOT defaults to the current directory)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The folders checked; the first path segment of a file names its layer. */
export const LAYERS = ['agent', 'cli', 'shared'];

/** Which layer may not import which. */
export const FORBIDDEN = {
  cli: ['agent'],
  agent: ['cli'],
  shared: ['agent', 'cli'],
};

/**
 * Cycles tolerated, each as the sorted list of its files: none. (The check fails when an allowed
 * cycle grows or disappears, so a list here never goes stale.)
 */
export const KNOWN_CYCLES = [];

const posixRel = (root, p) => relative(root, p).split(sep).join('/');

function sourceFiles(root, dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        if (name !== 'node_modules') walk(p);
      } else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) {
        out.push(p);
      }
    }
  };
  if (existsSync(join(root, dir))) walk(join(root, dir));
  return out;
}

/** The file a relative specifier names: as written, or with .js read as .ts, or an index.ts. */
function resolveSpecifier(from, spec) {
  const base = resolve(dirname(from), spec);
  const candidates = [base, base.replace(/\.m?js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? base;
}

/** Relative imports of every file under LAYERS, as root-relative posix paths. */
export function importGraph(root) {
  const graph = new Map();
  for (const layer of LAYERS) {
    for (const file of sourceFiles(root, layer)) {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      const deps = importedFiles
        .map((i) => i.fileName)
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => posixRel(root, resolveSpecifier(file, spec)));
      graph.set(posixRel(root, file), [...new Set(deps)]);
    }
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function findCycles(graph) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/** Every violation as one line; empty when the layout holds. */
export function checkImports(root, knownCycles = KNOWN_CYCLES) {
  const graph = importGraph(root);
  const problems = [];
  for (const [from, deps] of graph) {
    const banned = FORBIDDEN[from.split('/')[0]] ?? [];
    for (const to of deps) {
      if (banned.includes(to.split('/')[0]))
        problems.push(`${from} imports ${to}: ${from.split('/')[0]}/ may not import ${to.split('/')[0]}/`);
    }
  }
  const key = (files) => files.join(' ↔ ');
  const known = new Set(knownCycles.map((c) => key([...c].sort())));
  const found = findCycles(graph);
  for (const cycle of found) {
    if (!known.has(key(cycle))) problems.push(`import cycle: ${key(cycle)}`);
  }
  const foundKeys = new Set(found.map(key));
  for (const k of known) {
    if (!foundKeys.has(k))
      problems.push(`allowed cycle ${k} is gone: remove it from KNOWN_CYCLES in scripts/check-imports.mjs`);
  }
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? '.');
  const problems = checkImports(root);
  for (const p of problems) console.error(p);
  if (problems.length > 0) process.exit(1);
  console.log(`imports: no cycles, no cross-layer imports in ${LAYERS.join(', ')}`);
}
