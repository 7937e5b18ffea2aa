import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { createJiti } from 'jiti';
import { findPackageRoot } from '../remoter/package-root.ts';
import { describeIssue } from './describe-issue.ts';
import { type CloudDefinition, type PoolDefinition, poolSchema } from './schema.ts';

/** A bad pool definition. The message is one line: `<file>: <field path>: <what is wrong>`. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const CODE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

/**
 * Loads and validates a pool definition (.ts, .js/.mjs/.cjs or .json). Code files go through
 * jiti, with 'poolparty' aliased to this package's shared/index.ts so a clouds.ts anywhere on
 * disk can `import { definePool, local } from 'poolparty'` without a build.
 */
export async function loadPool(file: string): Promise<PoolDefinition> {
  const ext = extname(file);
  try {
    if (!(await stat(file)).isFile()) throw new ConfigError(`${file}: not a file`);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${file}: file not found`);
  }
  let raw: unknown;
  if (ext === '.json') raw = await loadJson(file);
  else if (CODE_EXTENSIONS.has(ext)) raw = await loadModule(file);
  else throw new ConfigError(`${file}: unsupported extension '${ext}' (expected .ts, .js, .mjs or .json)`);
  return parsePool(raw, file);
}

/** Validates an already-loaded definition; `source` names it in errors. */
export function parsePool(raw: unknown, source: string): PoolDefinition {
  if (raw === null || typeof raw !== 'object') {
    throw new ConfigError(`${source}: expected the default export to be definePool({...}), got ${typeof raw}`);
  }
  const result = poolSchema.safeParse(raw, { error: describeIssue });
  if (!result.success) throw new ConfigError(describeIssues(source, result.error.issues));
  const pool: PoolDefinition = result.data;
  // A relative stateDir means "next to the config file", not "wherever the CLI was started".
  if (pool.stateDir !== undefined && !pool.stateDir.startsWith('~')) {
    pool.stateDir = resolve(dirname(resolve(source)), pool.stateDir);
  }
  return pool;
}

/** Picks a cloud: the only one when unnamed; an error listing the names otherwise. */
export function resolveCloud(pool: PoolDefinition, name?: string): { name: string; cloud: CloudDefinition } {
  const names = Object.keys(pool.clouds);
  if (name === undefined) {
    if (names.length === 1)
      return { name: names[0] as string, cloud: pool.clouds[names[0] as string] as CloudDefinition };
    throw new ConfigError(
      `pool '${pool.name}' has ${names.length} clouds (${names.join(', ')}): choose one with --cloud`,
    );
  }
  const cloud = pool.clouds[name];
  if (!cloud) throw new ConfigError(`pool '${pool.name}' has no cloud '${name}' (clouds: ${names.join(', ')})`);
  return { name, cloud };
}

async function loadJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(oneLine(`${file}: invalid JSON: ${(err as Error).message}`));
  }
}

async function loadModule(file: string): Promise<unknown> {
  const root = findPackageRoot();
  const jiti = createJiti(import.meta.url, {
    alias: { poolparty: join(root, 'shared', 'index.ts') },
    // A CLI loads one definition; tests load many versions of the same path.
    moduleCache: false,
    fsCache: false,
    // Without this a file lacking `export default` would pass its namespace off as the pool.
    interopDefault: false,
  });
  let mod: unknown;
  try {
    mod = await jiti.import(resolve(file));
  } catch (err) {
    throw new ConfigError(oneLine(`${file}: ${describeLoadError(err)}`));
  }
  const def = (mod as { default?: unknown } | null)?.default;
  if (def === undefined)
    throw new ConfigError(`${file}: no default export (expected export default definePool({...}))`);
  return def;
}

function describeLoadError(err: unknown): string {
  if (!(err instanceof Error)) return `cannot load: ${String(err)}`;
  if (err.name === 'SyntaxError' || /Unexpected|Expected|Transform failed|ParseError/i.test(err.message)) {
    return `syntax error: ${err.message}`;
  }
  return `cannot load: ${err.message}`;
}

/**
 * Every problem at once, each `<path>: <what is wrong>`: one line for one problem (as before),
 * else a count and one indented line per problem, so a file with two typos is fixed in one round.
 */
export function describeIssues(source: string, issues: readonly { path: PropertyKey[]; message: string }[]): string {
  // By path, so a block's problems read together (zod reports unknown keys after the fields).
  const byPath = issues
    .map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const lines = [...new Set(byPath.map(({ path, message }) => oneLine(`${path ? `${path}: ` : ''}${message}`)))];
  if (lines.length === 1) return `${source}: ${lines[0]}`;
  return [`${source}: ${lines.length} problems:`, ...lines.map((l) => `  ${l}`)].join('\n');
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
