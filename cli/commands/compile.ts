import { dirname, join, resolve } from 'node:path';
import { type Bundle, type BundleSummary, buildBundle, writeBundle } from '../../shared/bundle/index.ts';
import { resolveCloud } from '../../shared/config/load.ts';
import { type Command, optionalString } from '../command.ts';
import { openPool, POOL_OPTIONS, type PoolContext } from '../context.ts';

export interface CompileResult {
  sha256: string;
  /** The written archive, `<dir>/<sha256>.tar.gz`. */
  path: string;
  bytes: number;
  summary: BundleSummary;
}

/**
 * Errors of building a bundle from a valid definition: bad resources, templates, sources,
 * cookbooks. They are the user's to fix (exit 2), like a config error.
 */
export const COMPILE_ERRORS: ReadonlySet<string> = new Set([
  'BundleInputError',
  'BundleFormatError',
  'InvalidResourceError',
  'DuplicateResourceError',
  'UnknownResourceError',
  'ResourceCycleError',
  'TemplateError',
]);

/**
 * Builds the cloud's bundle (pure and deterministic: the same definition and files give the same
 * bytes). Relative sources and cookbooks are relative to the config file. A builder error keeps
 * its class and gets the file and cloud in front of its message.
 */
export async function compileCloud(
  ctx: Pick<PoolContext, 'pool' | 'configFile'>,
  cloudFlag: string | undefined,
): Promise<Bundle> {
  const { name, cloud } = resolveCloud(ctx.pool, cloudFlag);
  try {
    return await buildBundle({
      pool: ctx.pool.name,
      cloud: name,
      definition: cloud,
      configure: cloud.configure,
      baseDir: dirname(resolve(ctx.configFile)),
    });
  } catch (err) {
    if (err instanceof Error && COMPILE_ERRORS.has(err.name)) {
      err.message = `${ctx.configFile}: clouds.${name}: ${err.message}`;
    }
    throw err;
  }
}

/** Whether a cloud has anything to configure: without resources or cookbooks it gets no bundle. */
export function hasConfiguration(ctx: Pick<PoolContext, 'pool'>, cloud: string): boolean {
  const c = ctx.pool.clouds[cloud]?.configure;
  return (
    c !== undefined &&
    (c.resources.length > 0 || c.cookbooks.length > 0 || c.runList.length > 0 || c.verifiers.length > 0)
  );
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

export const compileCommand: Command = {
  name: 'compile',
  summary: "build the cloud's configuration bundle (deterministic; named by its sha256)",
  usage: '-c FILE [--cloud NAME] [-o DIR] [--json]',
  details: [
    'Writes <DIR>/<sha256>.tar.gz: the resolved cloud (cloud.json), a chef-solo tree, a puppet manifest,',
    'verifiers and hooks. The same definition and files always give the same bytes and hash.',
    'Default DIR: <state dir>/bundles.',
  ].join('\n'),
  options: {
    ...POOL_OPTIONS,
    out: { type: 'string', short: 'o', placeholder: 'DIR', description: 'where to write the bundle' },
  },
  async run({ values }) {
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
  },
};
