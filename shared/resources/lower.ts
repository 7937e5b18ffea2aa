import { type CompiledBase, type CompiledResource, DEFAULT_DIRECTORY_MODE, DEFAULT_FILE_MODE } from './compiled.ts';
import { InvalidResourceError } from './errors.ts';
import { renderTemplate } from './template.ts';
import type { Resource } from './types.ts';

/**
 * One validated resource to its compiled form: sources inlined, templates rendered, crons written
 * as files, environments folded into commands, modes normalised, so every resolver gets the same.
 */

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

export function lower(r: Resource, base: CompiledBase, sources: ReadonlyMap<string, Buffer>): CompiledResource {
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
