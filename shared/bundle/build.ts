import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import { constants, gzipSync } from 'node:zlib';
import type { ConfigureDefinition } from '../config/configure-schema.ts';
import { type CompiledResource, compileResources, sourcesOf } from '../resources/compile.ts';
import { chefMetadata, chefRecipe, dnaJson, POOLPARTY_COOKBOOK, POOLPARTY_RECIPE, SOLO_RB } from './chef.ts';
import { BundleInputError } from './errors.ts';
import { canonicalJson } from './literals.ts';
import { puppetManifest } from './puppet.ts';
import { type TarEntry, writeTar } from './tar.ts';

/**
 * Builds the content-addressed bundle: a gzipped ustar whose bytes depend only on the input
 * (sorted entries, mtime 0, uid/gid 0, modes 0644/0755, canonical JSON, gzip without name or
 * time), so its sha256 names it everywhere. Layout:
 *
 *   bundle.json                       format, pool, cloud, resolver order, run list
 *   cloud.json                        the resolved cloud definition
 *   solo.rb, dna.json                 chef-solo -c solo.rb -j dna.json
 *   cookbooks/poolparty/metadata.rb
 *   cookbooks/poolparty/recipes/default.rb   generated from the resources
 *   cookbooks/<user cookbook>/…       copied as they are
 *   manifests/site.pp                 the same resources for puppet apply
 *   verifiers.json, hooks.json
 */

export const BUNDLE_FORMAT = 1;
/** The generated cookbook's version: fixed, so the generator's version never changes a hash. */
const COOKBOOK_VERSION = '1.0.0';

export interface BundleInput {
  pool: string;
  cloud: string;
  /** The resolved cloud definition, written as cloud.json (any JSON value). */
  definition: unknown;
  configure: ConfigureDefinition;
  /** Relative sources and cookbook directories are resolved against this (the config file's dir). */
  baseDir: string;
}

/** What bundle.json holds; the agent reads it to pick a resolver. */
export interface BundleManifest {
  format: number;
  pool: string;
  cloud: string;
  resolver: string[];
  runList: string[];
  cookbooks: string[];
  resources: number;
}

export interface BundleSummary extends BundleManifest {
  sha256: string;
  bytes: number;
  files: number;
  /** Resource count by type, as written ('template', 'cron', …). */
  byType: Record<string, number>;
  verifiers: string[];
  hooks: Record<string, number>;
  plugins: string[];
}

export interface Bundle {
  bytes: Buffer;
  sha256: string;
  summary: BundleSummary;
  /** Paths in the archive, sorted (directories without a trailing '/'). */
  files: string[];
  /** The generated texts, for `poolparty show` and golden tests. */
  recipe: string;
  manifest: string;
}

export async function buildBundle(input: BundleInput): Promise<Bundle> {
  const { configure } = input;
  const sources = new Map<string, Buffer>();
  for (const source of sourcesOf(configure.resources)) {
    try {
      sources.set(source, await readFile(resolve(input.baseDir, source)));
    } catch (err) {
      throw new BundleInputError(`source ${source}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  }
  const compiled = compileResources({ resources: configure.resources, sources });
  const cookbooks = await readCookbooks(configure.cookbooks, input.baseDir);
  return assemble(input, compiled, cookbooks);
}

interface FileEntry {
  data: Buffer;
  mode: number;
}

function assemble(input: BundleInput, compiled: CompiledResource[], cookbooks: Map<string, FileEntry>): Bundle {
  const { configure } = input;
  const recipe = chefRecipe(compiled);
  const manifest = puppetManifest(compiled);
  const cookbookNames = [...new Set([...cookbooks.keys()].map((p) => p.split('/')[1] as string))].sort();
  const bundleManifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    pool: input.pool,
    cloud: input.cloud,
    resolver: configure.resolver,
    runList: [POOLPARTY_RECIPE, ...configure.runList],
    cookbooks: cookbookNames,
    resources: configure.resources.length,
  };
  const text = (s: string): FileEntry => ({ data: Buffer.from(s), mode: 0o644 });
  const files = new Map<string, FileEntry>([
    ['bundle.json', text(canonicalJson(bundleManifest))],
    ['cloud.json', text(canonicalJson(input.definition ?? null))],
    ['solo.rb', text(SOLO_RB)],
    [
      'dna.json',
      text(
        dnaJson(configure.runList, { ...configure.attributes, poolparty: { pool: input.pool, cloud: input.cloud } }),
      ),
    ],
    [`cookbooks/${POOLPARTY_COOKBOOK}/metadata.rb`, text(chefMetadata(COOKBOOK_VERSION))],
    [`cookbooks/${POOLPARTY_COOKBOOK}/recipes/default.rb`, text(recipe)],
    ['manifests/site.pp', text(manifest)],
    ['verifiers.json', text(canonicalJson(configure.verifiers))],
    ['hooks.json', text(canonicalJson(configure.hooks))],
    ...cookbooks,
  ]);
  const entries = tarEntries(files);
  const bytes = gzip(writeTar(entries));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const byType: Record<string, number> = {};
  for (const r of configure.resources) byType[r.type] = (byType[r.type] ?? 0) + 1;
  return {
    bytes,
    sha256,
    files: entries.map((e) => e.path),
    recipe,
    manifest,
    summary: {
      ...bundleManifest,
      sha256,
      bytes: bytes.length,
      files: files.size,
      byType,
      verifiers: configure.verifiers.map((v) => v.name),
      hooks: Object.fromEntries(Object.entries(configure.hooks).map(([k, v]) => [k, v.length])),
      plugins: configure.plugins,
    },
  };
}

/** Files plus every parent directory, sorted by path so the archive order never varies. */
function tarEntries(files: Map<string, FileEntry>): TarEntry[] {
  const dirs = new Set<string>();
  for (const path of files.keys()) {
    for (let d = posix.dirname(path); d !== '.'; d = posix.dirname(d)) dirs.add(d);
  }
  const entries: TarEntry[] = [
    ...[...dirs].map((path): TarEntry => ({ path, type: 'directory', mode: 0o755 })),
    ...[...files].map(([path, f]): TarEntry => ({ path, type: 'file', mode: f.mode, data: f.data })),
  ];
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/**
 * gzip with no name and mtime 0 (Node writes neither); the OS byte is pinned to 3 (Unix) because
 * zlib sets it from the build platform and a laptop's bundle must hash the same on a node.
 */
function gzip(data: Buffer): Buffer {
  const out = gzipSync(data, { level: constants.Z_BEST_COMPRESSION });
  out[9] = 3;
  return out;
}

const COOKBOOK_NAME = /^[A-Za-z0-9_-]+$/;

/** User cookbooks as archive entries (cookbooks/<name>/…): regular files and directories only. */
async function readCookbooks(dirs: readonly string[], baseDir: string): Promise<Map<string, FileEntry>> {
  const out = new Map<string, FileEntry>();
  const seen = new Set<string>();
  for (const dir of dirs) {
    const root = resolve(baseDir, dir);
    const name = basename(root);
    if (!COOKBOOK_NAME.test(name)) throw new BundleInputError(`cookbook ${dir}: name '${name}' is not a cookbook name`);
    if (name === POOLPARTY_COOKBOOK) throw new BundleInputError(`cookbook ${dir}: the name 'poolparty' is reserved`);
    if (seen.has(name)) throw new BundleInputError(`cookbook ${dir}: a cookbook named '${name}' is already included`);
    seen.add(name);
    const files = await walk(root, dir);
    if (!files.has('metadata.rb') && !files.has('metadata.json'))
      throw new BundleInputError(`cookbook ${dir}: no metadata.rb or metadata.json`);
    for (const [rel, entry] of files) out.set(`cookbooks/${name}/${rel}`, entry);
  }
  return out;
}

async function walk(root: string, label: string): Promise<Map<string, FileEntry>> {
  const out = new Map<string, FileEntry>();
  const visit = async (rel: string): Promise<void> => {
    const abs = join(root, rel);
    let names: string[];
    try {
      names = (await readdir(abs)).sort();
    } catch (err) {
      throw new BundleInputError(`cookbook ${label}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, childRel));
      if (st.isDirectory()) await visit(childRel);
      else if (st.isFile())
        out.set(childRel, { data: await readFile(join(root, childRel)), mode: st.mode & 0o111 ? 0o755 : 0o644 });
      else throw new BundleInputError(`cookbook ${label}: ${childRel} is not a regular file or directory`);
    }
  };
  await visit('');
  return out;
}

/** Writes `<dir>/<sha256>.tar.gz` (atomically) and returns its path. */
export async function writeBundle(bundle: Pick<Bundle, 'bytes' | 'sha256'>, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${bundle.sha256}.tar.gz`);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, bundle.bytes);
  await rename(tmp, path);
  return path;
}
