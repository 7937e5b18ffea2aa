import { posix } from 'node:path';
import { DuplicateResourceError, InvalidResourceError, UnknownResourceError } from './errors.ts';
import { orderResources } from './graph.ts';
import { resourceSchema } from './schema.ts';
import { renderTemplate } from './template.ts';
import type { NotifyTiming, Resource } from './types.ts';

/**
 * The pure core between clouds.ts and the generators: validates resources, resolves refs,
 * orders them (explicit requires/notifies plus the implicit dependencies Puppet would add on its
 * own — parent directories, link targets, owners — so both resolvers see one order), renders
 * templates, inlines sources and lowers `template` and `cron` to plain files. The result is what
 * both the Chef and the Puppet generator consume, so they cannot disagree about content.
 */

/** The kinds the generators know; templates and crons have become files. */
export type CompiledKind = 'file' | 'directory' | 'link' | 'package' | 'service' | 'exec' | 'user' | 'group';

export interface Target {
  kind: CompiledKind;
  /** Path for file/directory/link, name otherwise. */
  name: string;
}

interface Base extends Target {
  /** The ref as the user wrote it, e.g. 'template[/etc/site]' (for comments and messages). */
  ref: string;
  requires: Target[];
  notifies: { target: Target; action: 'restart' | 'run'; timing: NotifyTiming }[];
}

export type CompiledResource =
  | (Base & { kind: 'file'; content?: Buffer; mode: string; owner?: string; group?: string })
  | (Base & { kind: 'directory'; mode: string; owner?: string; group?: string })
  | (Base & { kind: 'link'; to: string })
  | (Base & { kind: 'package'; version?: string; action: 'install' | 'remove' })
  | (Base & { kind: 'service'; enable?: boolean; action?: 'start' | 'stop' | 'restart' })
  | (Base & {
      kind: 'exec';
      /** Environment already folded in (see withEnv), identical for every resolver. */
      command: string;
      cwd?: string;
      user?: string;
      creates?: string;
      onlyIf?: string;
      notIf?: string;
      refreshOnly: boolean;
    })
  | (Base & { kind: 'user'; uid?: number; gid?: string | number; home?: string; shell?: string })
  | (Base & { kind: 'group'; gid?: number });

export const DEFAULT_FILE_MODE = '0644';
export const DEFAULT_DIRECTORY_MODE = '0755';
export const DEFAULT_CRON_DIR = '/etc/cron.d';

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
    const base: Base = {
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

/** Single-quotes for /bin/sh: the only character needing care inside '…' is ' itself. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Folds the environment into a command, so guards and command see it under every resolver. */
export function withEnv(command: string, env: Record<string, string> | undefined): string {
  const entries = Object.entries(env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return command;
  return `export ${entries.map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')}; ${command}`;
}

function lower(r: Resource, base: Base, sources: ReadonlyMap<string, Buffer>): CompiledResource {
  const source = (what: string, s: string): Buffer => {
    const bytes = sources.get(s);
    if (!bytes) throw new InvalidResourceError(`${base.ref}: ${what} ${s} was not read`);
    return bytes;
  };
  const owned = (o: { owner?: string; group?: string }) => ({
    ...(o.owner !== undefined && { owner: o.owner }),
    ...(o.group !== undefined && { group: o.group }),
  });
  switch (r.type) {
    case 'file': {
      const content = r.source !== undefined ? source('source', r.source) : r.content;
      return {
        ...base,
        kind: 'file',
        ...(content !== undefined && { content: Buffer.from(content) }),
        mode: normalMode(r.mode ?? DEFAULT_FILE_MODE),
        ...owned(r),
      };
    }
    case 'template': {
      const text = r.inline ?? source('template', r.source as string).toString('utf8');
      const rendered = renderTemplate(text, r.variables ?? {}, base.ref);
      return {
        ...base,
        kind: 'file',
        content: Buffer.from(rendered),
        mode: normalMode(r.mode ?? DEFAULT_FILE_MODE),
        ...owned(r),
      };
    }
    case 'cron': {
      const when = [r.minute, r.hour, r.day, r.month, r.weekday].map((f) => f ?? '*').join(' ');
      const content = `# Managed by PoolParty (cron[${r.name}]).\n${when} ${r.user ?? 'root'} ${r.command}\n`;
      return { ...base, kind: 'file', content: Buffer.from(content), mode: DEFAULT_FILE_MODE };
    }
    case 'directory':
      return { ...base, kind: 'directory', mode: normalMode(r.mode ?? DEFAULT_DIRECTORY_MODE), ...owned(r) };
    case 'link':
      return { ...base, kind: 'link', to: r.to };
    case 'package':
      return {
        ...base,
        kind: 'package',
        ...(r.version !== undefined && { version: r.version }),
        action: r.action ?? 'install',
      };
    case 'service':
      return {
        ...base,
        kind: 'service',
        ...(r.enable !== undefined && { enable: r.enable }),
        ...(r.action !== undefined && { action: r.action }),
      };
    case 'exec':
      return {
        ...base,
        kind: 'exec',
        command: withEnv(r.command ?? r.name, r.env),
        ...(r.cwd !== undefined && { cwd: r.cwd }),
        ...(r.user !== undefined && { user: r.user }),
        ...(r.creates !== undefined && { creates: r.creates }),
        ...(r.onlyIf !== undefined && { onlyIf: withEnv(r.onlyIf, r.env) }),
        ...(r.notIf !== undefined && { notIf: withEnv(r.notIf, r.env) }),
        refreshOnly: r.refreshOnly ?? false,
      };
    case 'user':
      return {
        ...base,
        kind: 'user',
        ...(r.uid !== undefined && { uid: r.uid }),
        ...(r.gid !== undefined && { gid: r.gid }),
        ...(r.home !== undefined && { home: r.home }),
        ...(r.shell !== undefined && { shell: r.shell }),
      };
    case 'group':
      return { ...base, kind: 'group', ...(r.gid !== undefined && { gid: r.gid }) };
  }
}

/** Four digits: '644' and '0644' are the same mode and must produce the same bundle. */
function normalMode(mode: string): string {
  return mode.padStart(4, '0');
}
