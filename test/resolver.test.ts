import { readFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureNode } from '../agent/configure/configure.ts';
import { itamaeResolver } from '../agent/configure/itamae.ts';
import { puppetResolver } from '../agent/configure/puppet.ts';
import type { ApplyResult, Resolver } from '../agent/configure/types.ts';
import { buildBundle } from '../shared/bundle/build.ts';
import { unpackBundle } from '../shared/bundle/unpack.ts';
import { configureSchema } from '../shared/config/configure-schema.ts';
import { cron, directory, exec, file, link, template } from '../shared/resources/index.ts';

/**
 * The same resources applied for real by itamae and by puppet, each under its own temporary
 * root, must leave identical trees: files, contents, modes, links, and command effects
 * (including a notification firing once when a file changes, and not when nothing changed).
 * Puppet takes seconds to start, so it runs exactly twice.
 */

let work: string;
const BINARY = Buffer.from([0, 1, 2, 0xff, 0xfe, 10]);
const isRoot = process.getuid?.() === 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'poolparty-resolver-'));
  await writeFile(join(work, 'blob.bin'), BINARY);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function resources(root: string) {
  const changed = exec('record-change', {
    command: 'echo "motd changed by $WHO" >> var/changes.log',
    cwd: root,
    env: { WHO: "poolparty's resolver" },
    refreshOnly: true,
  });
  return [
    directory(`${root}/etc`, { mode: '0750' }),
    directory(`${root}/var/www/site`, { mode: '0755', recursive: true }),
    file(`${root}/etc/motd`, {
      content: "hello, it's\n\ta \\ test\n",
      mode: '0640',
      notifies: [changed],
      ...(isRoot && { owner: 'nobody', group: 'nogroup' }),
    }),
    file(`${root}/etc/blob.bin`, { source: './blob.bin', mode: '0600' }),
    file(`${root}/etc/empty`, {}),
    template(`${root}/var/www/site/index.html`, {
      inline: '<h1>{{ site.title }}</h1>\n<p>port {{ port }}</p>\n',
      variables: { site: { title: 'PoolParty' }, port: 8080 },
      mode: '0644',
    }),
    link(`${root}/etc/motd.link`, { to: `${root}/etc/motd` }),
    exec('seed', { command: `echo seeded >> ${root}/var/seed.log`, creates: `${root}/var/seed.log` }),
    exec('in-cwd', { command: 'pwd > cwd.txt', cwd: `${root}/var`, creates: `${root}/var/cwd.txt` }),
    exec('only-if-false', { command: `touch ${root}/var/never`, onlyIf: 'false' }),
    exec('not-if-true', { command: `touch ${root}/var/skipped`, notIf: 'true' }),
    exec('only-if-true', {
      command: `echo ran >> ${root}/var/guarded.log`,
      onlyIf: `test -d ${root}/var`,
      creates: `${root}/var/guarded.log`,
    }),
    changed,
    directory(`${root}/etc/cron.d`, { mode: '0755' }),
    cron('rotate', { command: 'logrotate /etc/x.conf', minute: '15', hour: '*/6', dir: `${root}/etc/cron.d` }),
  ];
}

/** Builds, unpacks and applies a bundle of resources(root) with one resolver. */
async function applyWith(resolver: Resolver, root: string): Promise<{ result: ApplyResult; log: string[] }> {
  const configure = configureSchema.parse({ resources: resources(root), resolver: [resolver.name] });
  const bundle = await buildBundle({ pool: 'test', cloud: 'c', definition: {}, configure, baseDir: work });
  const bundleDir = join(work, 'bundles', `${resolver.name}-${bundle.sha256.slice(0, 12)}`);
  await rm(bundleDir, { recursive: true, force: true });
  await unpackBundle(bundle.bytes, bundle.sha256, bundleDir);
  const log: string[] = [];
  const result = await resolver.apply(bundleDir, { timeout: 120_000, onLog: (line) => log.push(line) });
  return { result, log };
}

/** Every entry under root: type, mode, owner, content or link target — root itself written as <root>. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const norm = (s: string) => s.replaceAll(root, '<root>');
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const abs = join(root, p);
      const st = await lstat(abs);
      const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out[p] = `link -> ${norm(await readlink(abs))}`;
      else if (st.isDirectory()) {
        out[p] = `dir ${meta}`;
        await walk(p);
      } else {
        const bytes = await readFile(abs);
        out[p] = `file ${meta} ${p.endsWith('.bin') ? bytes.toString('hex') : norm(bytes.toString('utf8'))}`;
      }
    }
  };
  await walk('');
  return out;
}

describe('itamae and puppet apply the same resources identically', () => {
  const itamaeRoot = () => join(work, 'root-itamae');
  const puppetRoot = () => join(work, 'root-puppet');
  let itamae: Resolver;
  let puppet: Resolver;

  beforeAll(async () => {
    await mkdir(itamaeRoot());
    await mkdir(puppetRoot());
    itamae = itamaeResolver({ tmpDir: join(work, 'itamae-tmp') });
    puppet = puppetResolver({ stateDir: join(work, 'puppet-state') });
    expect(await itamae.available()).toBe(true);
    expect(await puppet.available()).toBe(true);
  });

  it('first run: same files, contents, modes, links and command effects', async () => {
    const [i, p] = await Promise.all([applyWith(itamae, itamaeRoot()), applyWith(puppet, puppetRoot())]);
    expect(i.result, i.log.join('\n')).toMatchObject({ ok: true, resolver: 'itamae', changed: true, exitCode: 0 });
    expect(p.result, p.log.join('\n')).toMatchObject({ ok: true, resolver: 'puppet', changed: true, exitCode: 2 });
    expect(i.log.some((l) => l.includes('Recipe:'))).toBe(true);
    expect(p.log.some((l) => l.includes('Applied catalog'))).toBe(true);

    const a = await snapshot(itamaeRoot());
    const b = await snapshot(puppetRoot());
    expect(a).toEqual(b);
    // And it is the tree the resources describe.
    const owner = isRoot ? `${uidOf('nobody')}` : undefined;
    expect(a['etc/motd']).toMatch(/^file 640 /);
    if (owner) expect(a['etc/motd']?.split(' ')[2]?.startsWith(`${owner}:`)).toBe(true);
    expect(a['etc/motd']?.endsWith("hello, it's\n\ta \\ test\n")).toBe(true);
    expect(a['etc/blob.bin']).toMatch(new RegExp(`^file 600 .* ${BINARY.toString('hex')}$`));
    expect(a['etc/empty']).toMatch(/^file 644 \S+ $/);
    expect(a.etc).toMatch(/^dir 750 /);
    expect(a['var/www/site']).toMatch(/^dir 755 /);
    expect(a['var/www/site/index.html']).toMatch(/ <h1>PoolParty<\/h1>\n<p>port 8080<\/p>\n$/);
    expect(a['etc/motd.link']).toBe('link -> <root>/etc/motd');
    expect(a['etc/cron.d/poolparty-rotate']).toMatch(/15 \*\/6 \* \* \* root logrotate \/etc\/x\.conf\n$/);
    expect(a['var/seed.log']).toMatch(/ seeded\n$/);
    expect(a['var/cwd.txt']).toMatch(/ <root>\/var\n$/);
    expect(a['var/guarded.log']).toMatch(/ ran\n$/);
    expect(a['var/never']).toBeUndefined();
    expect(a['var/skipped']).toBeUndefined();
    // The notification fired exactly once, with the exec's environment.
    expect(a['var/changes.log']).toMatch(/ motd changed by poolparty's resolver\n$/);
  }, 120_000);

  it('second run after a drift: the file is restored and the notification fires once more', async () => {
    for (const root of [itamaeRoot(), puppetRoot()]) await writeFile(join(root, 'etc', 'motd'), 'drifted\n');
    const [i, p] = await Promise.all([applyWith(itamae, itamaeRoot()), applyWith(puppet, puppetRoot())]);
    expect(i.result, i.log.join('\n')).toMatchObject({ ok: true, changed: true });
    expect(p.result, p.log.join('\n')).toMatchObject({ ok: true, changed: true });
    const a = await snapshot(itamaeRoot());
    expect(a).toEqual(await snapshot(puppetRoot()));
    expect(a['etc/motd']?.endsWith("hello, it's\n\ta \\ test\n")).toBe(true);
    expect(a['var/changes.log']?.match(/motd changed/g)).toHaveLength(2);
    // Guards held: seeding ran once in total.
    expect(a['var/seed.log']?.match(/seeded/g)).toHaveLength(1);
  }, 120_000);

  it('an unchanged machine is left alone (itamae reports no change, nothing is notified)', async () => {
    const before = await snapshot(itamaeRoot());
    const i = await applyWith(itamae, itamaeRoot());
    expect(i.result, i.log.join('\n')).toMatchObject({ ok: true, changed: false, exitCode: 0 });
    expect(await snapshot(itamaeRoot())).toEqual(before);
  }, 120_000);

  it('a resource that fails fails the apply, naming it, for both (itamae exits 2 for it too)', async () => {
    for (const resolver of [itamae, puppet]) {
      const root = join(work, `root-fail-${resolver.name}`);
      await mkdir(root, { recursive: true });
      const failing = [
        file(`${root}/before`, { content: 'x\n' }),
        exec('will-fail', { command: 'exit 3', cwd: root }),
        // Puppet goes on past a failure, so it reports this one too; itamae stops at the first.
        file(`${root}/no-such-dir/x`, { content: 'y\n' }),
      ];
      const configure = configureSchema.parse({ resources: failing, resolver: [resolver.name] });
      const bundle = await buildBundle({ pool: 'test', cloud: 'c', definition: {}, configure, baseDir: work });
      const bundleDir = join(work, 'bundles', `fail-${resolver.name}-${bundle.sha256.slice(0, 12)}`);
      await unpackBundle(bundle.bytes, bundle.sha256, bundleDir);
      const log: string[] = [];
      const result = await resolver.apply(bundleDir, { timeout: 120_000, onLog: (line) => log.push(line) });
      expect(result.ok, `${resolver.name}: ${log.join('\n')}`).toBe(false);
      expect(result.changed).toBeNull();
      expect(result.error).toMatch(new RegExp(`^${resolver.name} `));
      if (resolver === itamae) expect(result.error).toMatch(/: execute\[.*\] failed$/);
      else
        expect(result.error).toBe(
          `puppet apply exited with 6 (resources failed): Exec[will-fail], File[${root}/no-such-dir/x] failed`,
        );
    }
  }, 120_000);
});

function uidOf(name: string): number {
  // Debian's nobody; read from /etc/passwd rather than assume 65534.
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  return Number(line?.split(':')[2]);
}

describe('configureNode', () => {
  it('falls back to an installed resolver, runs hooks, applies, verifies', async () => {
    const root = join(work, 'root-configure');
    await mkdir(root);
    const configure = configureSchema.parse({
      resources: [
        file(`${root}/hello`, { content: 'hi\n' }),
        exec('touch', { command: `touch ${root}/touched`, creates: `${root}/touched` }),
      ],
      resolver: ['chef-solo', 'itamae'],
      hooks: {
        beforeConfigure: `echo "$POOLPARTY_HOOK" > ${root}/before`,
        afterConfigure: [`test -f ${root}/hello && echo after > ${root}/after`],
      },
      verifiers: [{ command: `grep -q hi ${root}/hello`, name: 'hello written' }],
    });
    const bundle = await buildBundle({ pool: 'test', cloud: 'c', definition: {}, configure, baseDir: work });
    const bundleDir = join(work, 'bundles', bundle.sha256);
    await unpackBundle(bundle.bytes, bundle.sha256, bundleDir);
    const logs: string[] = [];
    const report = await configureNode({
      bundleDir,
      timeout: 60_000,
      // chef-solo is never installed here, but pin it absent so the fallback is what is tested.
      resolverOptions: {
        'chef-solo': { binaries: ['poolparty-no-such-chef-solo'] },
        itamae: { tmpDir: join(work, 'it-tmp') },
      },
      onLog: (e) => logs.push(`${e.source}: ${e.line}`),
    });
    expect(report, logs.join('\n')).toMatchObject({
      ok: true,
      stage: 'done',
      resolver: 'itamae',
      apply: { ok: true, changed: true },
    });
    expect(report.verifiers).toMatchObject([{ name: 'hello written', ok: true, attempts: 1 }]);
    expect(report.hooks.beforeConfigure).toMatchObject([{ ok: true }]);
    expect(await readFile(join(root, 'before'), 'utf8')).toBe('beforeConfigure\n');
    expect(await readFile(join(root, 'after'), 'utf8')).toBe('after\n');
    expect(logs.some((l) => l.startsWith('itamae: '))).toBe(true);
  });

  it('stops at the failing stage: a failing verifier, a failing hook, no resolver', async () => {
    const root = join(work, 'root-fail');
    await mkdir(root);
    const make = async (extra: Record<string, unknown>, name: string) => {
      const configure = configureSchema.parse({
        resources: [file(`${root}/${name}`, { content: 'x' })],
        resolver: ['itamae'],
        ...extra,
      });
      const bundle = await buildBundle({ pool: 'test', cloud: 'c', definition: {}, configure, baseDir: work });
      const bundleDir = join(work, 'bundles', bundle.sha256);
      await unpackBundle(bundle.bytes, bundle.sha256, bundleDir);
      return bundleDir;
    };
    const opts = { timeout: 60_000, resolverOptions: { itamae: { tmpDir: join(work, 'it-tmp') } } };

    const verifyFails = await configureNode({
      ...opts,
      bundleDir: await make({ verifiers: [{ command: 'exit 3', retries: 2, delay: 0, name: 'always fails' }] }, 'v'),
    });
    expect(verifyFails).toMatchObject({ ok: false, stage: 'verify', resolver: 'itamae' });
    expect(verifyFails.verifiers).toMatchObject([{ ok: false, attempts: 3, error: 'exited with 3' }]);
    expect(verifyFails.error).toBe('verifier failed: always fails (exited with 3)');

    const hookFails = await configureNode({
      ...opts,
      bundleDir: await make({ hooks: { beforeConfigure: 'exit 1' } }, 'h'),
    });
    expect(hookFails).toMatchObject({ ok: false, stage: 'beforeConfigure', resolver: null, apply: null });
    await expect(lstat(join(root, 'h'))).rejects.toThrow(/ENOENT/);

    const none = await configureNode({
      ...opts,
      bundleDir: await make({ resolver: ['chef-solo'] }, 'n'),
      resolverOptions: { 'chef-solo': { binaries: ['poolparty-no-such-chef-solo'] } },
    });
    expect(none).toMatchObject({ ok: false, stage: 'resolver' });
    expect(none.error).toContain('chef-solo: neither chef-solo nor cinc-solo is on PATH: install Cinc Client');
  });
});
