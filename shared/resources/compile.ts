import { posix } from 'node:path';
import { type CompiledBase, type CompiledResource, DEFAULT_CRON_DIR, type Target } from './compiled.ts';
import { DuplicateResourceError, InvalidResourceError, UnknownResourceError } from './errors.ts';
import { orderResources } from './graph.ts';
import { lower, shellQuote } from './lower.ts';
import { resourceSchema } from './schema.ts';
import type { Resource } from './types.ts';

/**
 * The pure core between clouds.ts and the generators: validates resources, resolves refs,
 * orders them (explicit requires/notifies plus the implicit dependencies Puppet would add on its
 * own — parent directories, link targets, owners — so both resolvers see one order), renders
 * templates, inlines sources and lowers `template` and `cron` to plain files. The result is what
 * both the Chef and the Puppet generator consume, so they cannot disagree about content.
 */

// The bundle builder and the generators import these from here.
export {
  type CompiledKind,
  type CompiledResource,
  DEFAULT_CRON_DIR,
  DEFAULT_DIRECTORY_MODE,
  DEFAULT_FILE_MODE,
  type Target,
} from './compiled.ts';
export { shellQuote, withEnv } from './lower.ts';

export interface CompileInput {
  resources: readonly unknown[];
  /** Bytes of every `source` (file and template), keyed by the source as written. */
  sources: ReadonlyMap<string, Buffer>;
}

/** The `source` strings to read before compiling (the I/O shell reads them, compile stays pure). */
export function sourcesOf(resources: readonly Resource[]): string[] {
  const out = new Set<string>();
  for (const r of resources) if ((r.type === 'file' || r.type === 'template') && r.source) out.add(r.source);
  return [...out].sort();
}

export function compileResources(input: CompileInput): CompiledResource[] {
  const resources = input.resources.map(parse);
  const refs = resources.map(refOfParsed);
  const index = new Map<string, number>();
  const byPath = new Map<string, number>();
  resources.forEach((r, i) => {
    const ref = refs[i] as string;
    if (index.has(ref)) throw new DuplicateResourceError(`${ref} is declared twice`);
    index.set(ref, i);
    const path = managedPath(r);
    if (path === undefined) return;
    const other = byPath.get(path);
    if (other !== undefined) throw new DuplicateResourceError(`${refs[other]} and ${ref} both manage ${path}`);
    byPath.set(path, i);
  });

  const lookup = (from: string, verb: string, target: string): number => {
    const i = index.get(target);
    if (i === undefined) throw new UnknownResourceError(`${from}: ${verb} ${target}, which is not declared`);
    return i;
  };
  const deps = resources.map(() => new Set<number>());
  resources.forEach((r, i) => {
    const ref = refs[i] as string;
    for (const req of r.requires ?? []) deps[i]?.add(lookup(ref, 'requires', req));
    for (const n of r.notifies ?? []) {
      const t = lookup(ref, 'notifies', n.target);
      const type = resources[t]?.type;
      if (type !== 'service' && type !== 'exec')
        throw new InvalidResourceError(`${ref}: notifies ${n.target}: only services and execs can be notified`);
      deps[t]?.add(i);
    }
    for (const implicit of implicitDeps(r, index, byPath)) if (implicit !== i) deps[i]?.add(implicit);
  });

  const order = orderResources(deps, refs);
  const targets = resources.map(targetOf);
  const made = new Set<string>();
  return order.flatMap((i) => {
    const r = resources[i] as Resource;
    const base: CompiledBase = {
      ...(targets[i] as Target),
      ref: refs[i] as string,
      requires: (r.requires ?? []).map((ref) => targets[index.get(ref) as number] as Target),
      notifies: (r.notifies ?? []).map((n) => ({
        target: targets[index.get(n.target) as number] as Target,
        action: n.action,
        timing: n.timing,
      })),
    };
    const compiled = lower(r, base, input.sources);
    if (r.type !== 'directory' || !r.recursive || posix.dirname(r.path) === '/') return [compiled];
    // Neither itamae's directory nor Puppet's file creates parents: a guarded `mkdir -p` does, the
    // same for every resolver (once per parent).
    const parent = posix.dirname(r.path);
    const name = `poolparty mkdir -p ${parent}`;
    if (index.has(`exec[${name}]`)) throw new DuplicateResourceError(`exec[${name}] is reserved`);
    compiled.requires.push({ kind: 'exec', name });
    if (made.has(parent)) return [compiled];
    made.add(parent);
    const mkdir: CompiledResource = {
      kind: 'exec',
      name,
      ref: `exec[${name}]`,
      requires: [],
      notifies: [],
      command: `mkdir -p ${shellQuote(parent)}`,
      creates: parent,
      refreshOnly: false,
    };
    return [mkdir, compiled];
  });
}

function parse(raw: unknown, i: number): Resource {
  const result = resourceSchema.safeParse(raw);
  const guess = raw as Partial<Record<'type' | 'path' | 'name', unknown>> | null;
  const where =
    guess && typeof guess.type === 'string' ? `${guess.type}[${String(guess.path ?? guess.name)}]` : `resources[${i}]`;
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.length ? `${issue.path.map(String).join('.')}: ` : '';
    throw new InvalidResourceError(`${where}: ${field}${issue?.message ?? 'invalid'}`);
  }
  const r = result.data as Resource;
  if (r.type === 'file' && r.content !== undefined && r.source !== undefined)
    throw new InvalidResourceError(`${where}: give content or source, not both`);
  if (r.type === 'template' && (r.source === undefined) === (r.inline === undefined))
    throw new InvalidResourceError(`${where}: give exactly one of source and inline`);
  if (r.type === 'link' && r.to === r.path) throw new InvalidResourceError(`${where}: a link cannot point to itself`);
  return r;
}

function refOfParsed(r: Resource): string {
  return `${r.type}[${'path' in r ? r.path : r.name}]`;
}

function cronPath(r: Extract<Resource, { type: 'cron' }>): string {
  return posix.join(r.dir ?? DEFAULT_CRON_DIR, `poolparty-${r.name}`);
}

/** The path a resource owns on disk; Puppet's File resources are unique by path, whatever their kind. */
function managedPath(r: Resource): string | undefined {
  if (r.type === 'file' || r.type === 'directory' || r.type === 'template' || r.type === 'link') return r.path;
  if (r.type === 'cron') return cronPath(r);
  return undefined;
}

function targetOf(r: Resource): Target {
  switch (r.type) {
    case 'template':
      return { kind: 'file', name: r.path };
    case 'cron':
      return { kind: 'file', name: cronPath(r) };
    case 'file':
    case 'directory':
    case 'link':
      return { kind: r.type, name: r.path };
    default:
      return { kind: r.type, name: r.name };
  }
}

/** Dependencies Puppet adds by itself (autorequire); made explicit so Chef runs in the same order. */
function implicitDeps(r: Resource, index: Map<string, number>, byPath: Map<string, number>): number[] {
  const out: number[] = [];
  const add = (i: number | undefined) => {
    if (i !== undefined) out.push(i);
  };
  const nearestAncestor = (path: string) => {
    for (let p = posix.dirname(path); ; p = posix.dirname(p)) {
      const hit = byPath.get(p);
      if (hit !== undefined || p === '/') return hit;
    }
  };
  const path = managedPath(r);
  if (path !== undefined && path !== '/') add(nearestAncestor(path));
  if (r.type === 'link' && r.to.startsWith('/')) add(byPath.get(posix.resolve(posix.dirname(r.path), r.to)));
  if (r.type === 'exec' && r.cwd) add(byPath.get(r.cwd));
  if ('owner' in r && r.owner) add(index.get(`user[${r.owner}]`));
  if ('group' in r && r.group) add(index.get(`group[${r.group}]`));
  if ((r.type === 'exec' || r.type === 'cron') && r.user) add(index.get(`user[${r.user}]`));
  if (r.type === 'user' && typeof r.gid === 'string') add(index.get(`group[${r.gid}]`));
  return out;
}
