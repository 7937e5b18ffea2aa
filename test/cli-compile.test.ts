import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpackBundle } from '../shared/bundle/index.ts';
import { cliEnv } from './fixtures/cli-env.ts';
import { runCli } from './fixtures/run-cli.ts';

/** `poolparty compile` and `poolparty show` through the built CLI. */

const CLI = resolve('bin/poolparty.mjs');
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-cli-compile-'));
  env = cliEnv(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli([CLI, ...args], env);

interface CompileJson {
  sha256: string;
  path: string;
  bytes: number;
  summary: {
    pool: string;
    cloud: string;
    resolver: string[];
    runList: string[];
    byType: Record<string, number>;
    verifiers: string[];
    hooks: Record<string, number>;
    plugins: string[];
  };
}

/** A pool file in its own directory (relative sources are relative to it). */
async function poolFile(name: string, cloud: string, files: Record<string, string> = {}): Promise<string> {
  const sub = join(dir, name);
  await rm(sub, { recursive: true, force: true });
  await mkdir(sub, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(sub, file), text);
  const path = join(sub, 'clouds.ts');
  await writeFile(
    path,
    `import { definePool, local, file, directory, exec, template } from 'poolparty';
export default definePool({ name: '${name}', clouds: { web: { instances: { min: 1, max: 2 }, using: local(), ${cloud} } } });
`,
  );
  return path;
}

describe('poolparty compile', () => {
  it('builds the example deterministically: same sha256 twice, written under its hash', async () => {
    const out = join(dir, 'bundles');
    const args = ['compile', '-c', 'examples/configure/clouds.ts', '--cloud', 'files', '-o', out, '--json'];
    const first = await cli(...args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const a = JSON.parse(first.stdout) as CompileJson;
    const second = JSON.parse((await cli(...args)).stdout) as CompileJson;
    expect(second.sha256).toBe(a.sha256);
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.path).toBe(join(out, `${a.sha256}.tar.gz`));
    expect(await readdir(out)).toEqual([`${a.sha256}.tar.gz`]);
    const bytes = await readFile(a.path);
    expect(bytes.length).toBe(a.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(a.sha256);
    expect(a.summary).toMatchObject({
      pool: 'configured',
      cloud: 'files',
      resolver: ['itamae', 'puppet'],
      runList: ['recipe[poolparty]'],
      byType: { directory: 2, file: 1, exec: 1, template: 1 },
      verifiers: ['banner rendered'],
      plugins: [],
    });
    expect(a.summary.hooks.afterConfigure).toBe(1);

    // The archive unpacks (safely) into the documented layout.
    const target = join(dir, 'unpacked');
    await unpackBundle(bytes, a.sha256, target);
    const recipe = await readFile(join(target, 'cookbooks/poolparty/recipes/default.rb'), 'utf8');
    expect(recipe).toContain("execute 'initialise' do");
    const cloudJson = JSON.parse(await readFile(join(target, 'cloud.json'), 'utf8'));
    expect(cloudJson.configure.resolver).toEqual(['itamae', 'puppet']);
  });

  it('prints the hash and a summary; the default directory is <state dir>/bundles; a plugin shows', async () => {
    const res = await cli('compile', '-c', 'examples/configure/clouds.ts', '--cloud', 'web');
    expect(res.code).toBe(0);
    const [head, ...rest] = res.stdout.trimEnd().split('\n');
    const sha = /^bundle ([0-9a-f]{64})$/.exec(head ?? '')?.[1];
    expect(sha).toBeDefined();
    const text = rest.join('\n');
    expect(text).toContain(join(dir, 'state', 'bundles', `${sha}.tar.gz`));
    expect(text).toMatch(/resources +6 \(directory 1, link 1, package 1, service 1, template 2\)/);
    expect(text).toMatch(/resolver +itamae → puppet/);
    expect(text).toMatch(/verifiers +nginx serves the page/);
    expect(text).toMatch(/plugins +nginx/);
    expect(await readdir(join(dir, 'state', 'bundles'))).toContain(`${sha}.tar.gz`);
  });

  it('a change in a source file changes the hash', async () => {
    const cloud = `resources: [template('/tmp/x/page', { source: 'page.tmpl', variables: { who: 'a' } })]`;
    const path = await poolFile('srcpool', cloud, { 'page.tmpl': 'hello {{ who }}\n' });
    const one = JSON.parse((await cli('compile', '-c', path, '--json')).stdout) as CompileJson;
    await writeFile(join(dir, 'srcpool', 'page.tmpl'), 'goodbye {{ who }}\n');
    const two = JSON.parse((await cli('compile', '-c', path, '--json')).stdout) as CompileJson;
    expect(two.sha256).not.toBe(one.sha256);
  });

  const errors: [string, string, Record<string, string>, RegExp][] = [
    [
      'a dependency cycle',
      `resources: [file('/tmp/a', { content: 'a', requires: ['exec[b]'] }), exec('b', { requires: ['file[/tmp/a]'] })]`,
      {},
      /clouds\.web: cycle: (file\[\/tmp\/a\] -> exec\[b\] -> file\[\/tmp\/a\]|exec\[b\] -> file\[\/tmp\/a\] -> exec\[b\])$/,
    ],
    [
      'a missing source',
      `resources: [file('/tmp/a', { source: 'nope.txt' })]`,
      {},
      /clouds\.web: source nope\.txt: ENOENT$/,
    ],
    [
      'an undefined template variable',
      `resources: [template('/tmp/a', { inline: 'hi {{ who }}' })]`,
      {},
      /clouds\.web: .*'who' is not defined/,
    ],
  ];
  for (const [what, cloud, files, expected] of errors) {
    it(`reports ${what} in one line, exit 2`, async () => {
      const path = await poolFile(`bad-${what.replace(/\W+/g, '-')}`.slice(0, 32).replace(/-$/, ''), cloud, files);
      const res = await cli('compile', '-c', path);
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('');
      const lines = res.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^poolparty: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
      expect(lines[0]).toMatch(expected);
    });
  }

  it('a config error stays a config error', async () => {
    const path = await poolFile('badcfg', `resolver: 'ansible'`);
    const res = await cli('compile', '-c', path, '--json');
    expect(res.code).toBe(2);
    expect(JSON.parse(res.stdout).error.name).toBe('ConfigError');
    expect(res.stderr).toMatch(/clouds\.web\.resolver/);
  });
});

describe('poolparty show', () => {
  it('prints the resolved pool, or one cloud', async () => {
    const all = await cli('show', '-c', 'examples/configure/clouds.ts', '--json');
    expect(all.code).toBe(0);
    const pool = JSON.parse(all.stdout) as { pool: string; definition: { clouds: Record<string, unknown> } };
    expect(pool.pool).toBe('configured');
    expect(Object.keys(pool.definition.clouds)).toEqual(['files', 'web']);

    const one = await cli('show', '-c', 'examples/configure/clouds.ts', '--cloud', 'web');
    expect(one.code).toBe(0);
    const cloud = JSON.parse(one.stdout);
    expect(cloud.using).toEqual({ provider: 'local', firstAddress: '127.0.0.40', p2pPort: 8643, monitorPort: 8642 });
    expect(cloud.configure.plugins).toEqual(['nginx']);
    expect(cloud.configure.verifiers[0]).toMatchObject({ kind: 'http', url: 'http://127.0.0.1:8080/', retries: 5 });
  });

  it('--recipe and --manifest print the generated code; they need one cloud', async () => {
    const recipe = await cli('show', '-c', 'examples/configure/clouds.ts', '--cloud', 'files', '--recipe');
    expect(recipe.code).toBe(0);
    expect(recipe.stdout).toContain("directory '/tmp/poolparty-example' do");
    expect(recipe.stdout).not.toContain('file {');
    const manifest = await cli(
      'show',
      '-c',
      'examples/configure/clouds.ts',
      '--cloud',
      'files',
      '--manifest',
      '--json',
    );
    expect(manifest.code).toBe(0);
    const out = JSON.parse(manifest.stdout) as { manifest: string; recipe?: string };
    expect(out.manifest).toContain("exec { 'initialise':");
    expect(out.recipe).toBeUndefined();
    const ambiguous = await cli('show', '-c', 'examples/configure/clouds.ts', '--recipe');
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toBe("poolparty: pool 'configured' has 2 clouds (files, web): choose one with --cloud\n");
  });
});
