import { join, resolve } from 'node:path';
import { type BundleSummary, writeBundle } from '../../shared/bundle/index.ts';
import { type CommandHandler, optionalString } from '../command.ts';
import { compileCloud } from '../compile-cloud.ts';
import { openPool } from '../context.ts';

export interface CompileResult {
  sha256: string;
  /** The written archive, `<dir>/<sha256>.tar.gz`. */
  path: string;
  bytes: number;
  summary: BundleSummary;
}

export function summaryText(r: CompileResult): string {
  const s = r.summary;
  const list = (items: readonly string[]) => (items.length > 0 ? items.join(', ') : 'none');
  const byType = Object.entries(s.byType)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => `${type} ${n}`);
  const hooks = Object.entries(s.hooks)
    .filter(([, n]) => n > 0)
    .map(([event, n]) => `${event} ${n}`);
  const rows: [string, string][] = [
    ['path', `${r.path} (${r.bytes} bytes, ${s.files} files)`],
    ['pool', `${s.pool}, cloud ${s.cloud}`],
    ['resources', `${s.resources}${byType.length > 0 ? ` (${byType.join(', ')})` : ''}`],
    ['resolver', s.resolver.join(' → ')],
    ['run list', list(s.runList)],
    ['cookbooks', list(s.cookbooks)],
    ['verifiers', list(s.verifiers)],
    ['hooks', list(hooks)],
    ['plugins', list(s.plugins)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`bundle ${r.sha256}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

/** `poolparty compile`; its options and help are in cli/command-table.ts. */
export const run: CommandHandler = async ({ values }) => {
  const ctx = await openPool(values, 'compile');
  const bundle = await compileCloud(ctx, optionalString(values, 'cloud'));
  const out = optionalString(values, 'out');
  const dir = out !== undefined ? resolve(out) : join(ctx.stateDir, 'bundles');
  const path = await writeBundle(bundle, dir);
  const result: CompileResult = {
    sha256: bundle.sha256,
    path,
    bytes: bundle.bytes.length,
    summary: bundle.summary,
  };
  return { data: result, text: summaryText(result) };
};
