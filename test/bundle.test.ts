import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginx } from '../examples/plugins/nginx/index.ts';
import { buildBundle, writeBundle } from '../shared/bundle/build.ts';
import { BundleInputError } from '../shared/bundle/errors.ts';
import { configureSchema } from '../shared/config/configure-schema.ts';
import { cron, directory, exec, file, group, link, pkg, service, template, user } from '../shared/resources/index.ts';
import { tarEntries } from './helpers/tar.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-bundle-'));
  await mkdir(join(dir, 'cookbooks', 'mycook', 'recipes'), { recursive: true });
  await writeFile(join(dir, 'cookbooks', 'mycook', 'metadata.rb'), "name 'mycook'\nversion '0.1.0'\n");
  await writeFile(join(dir, 'cookbooks', 'mycook', 'recipes', 'default.rb'), "log 'hello from mycook'\n");
  await writeFile(join(dir, 'page.tmpl'), '<h1>{{ title }}</h1>\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fixed resource set covering every type and option the generators emit. */
function fixture() {
  const web = service('web', { enable: true, action: 'start', requires: ['package[nginx]'] });
  const reload = exec('reload', { command: 'echo reload >> /var/log/reloads', refreshOnly: true });
  return [
    pkg('nginx', { version: '1.22.1-9' }),
    pkg('telnet', { action: 'remove' }),
    directory('/srv/www', { mode: '0750', owner: 'www', group: 'www', recursive: true }),
    file('/etc/motd', { content: "it's a \\ test\nline 2\n", mode: '0640', notifies: [reload] }),
    file('/etc/blob', { content: 'tab\there\r\n' }),
    template('/srv/www/index.html', { source: './page.tmpl', variables: { title: 'Hi' }, notifies: [web] }),
    link('/srv/current', { to: '/srv/www' }),
    exec('seed', {
      command: 'echo seeded >> /srv/seed.log',
      cwd: '/srv',
      env: { STAGE: 'prod' },
      creates: '/srv/seed.log',
      onlyIf: 'test -d /srv',
      notIf: 'test -f /srv/skip',
    }),
    reload,
    web,
    service('restarter', { action: 'restart' }),
    cron('backup', { command: 'tar czf /b.tgz /srv', minute: '5', hour: '2' }),
    group('www', { gid: 1500 }),
    user('www', { uid: 1500, gid: 'www', home: '/srv', shell: '/usr/sbin/nologin' }),
  ];
}

async function build(extra: Record<string, unknown> = {}, definition: unknown = { instances: { min: 1, max: 2 } }) {
  const configure = configureSchema.parse({ resources: fixture(), ...extra });
  return buildBundle({ pool: 'demo', cloud: 'web', definition, configure, baseDir: dir });
}

describe('buildBundle', () => {
  it('is deterministic: same input, same bytes; any change, another hash', async () => {
    const a = await build();
    const b = await build();
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(a.sha256).toBe(createHash('sha256').update(a.bytes).digest('hex'));
    expect(a.summary.sha256).toBe(a.sha256);
    // Key order of the definition does not matter (canonical JSON)...
    const reordered = await build({}, { instances: { max: 2, min: 1 } });
    expect(reordered.sha256).toBe(a.sha256);
    // ...but content does.
    expect((await build({}, { instances: { min: 1, max: 3 } })).sha256).not.toBe(a.sha256);
    expect((await build({ verifiers: [{ command: 'true' }] })).sha256).not.toBe(a.sha256);
    const configure = configureSchema.parse({ resources: [...fixture().slice(0, -1)] });
    const fewer = await buildBundle({ pool: 'demo', cloud: 'web', definition: {}, configure, baseDir: dir });
    expect(fewer.sha256).not.toBe(a.sha256);
  });

  it('matches what system tar sees: fixed owners, mtimes and modes, sorted', async () => {
    const b = await build({ cookbooks: ['cookbooks/mycook'], runList: ['mycook'] });
    const path = await writeBundle(b, join(dir, 'out'));
    expect(path).toBe(join(dir, 'out', `${b.sha256}.tar.gz`));
    const listing = execFileSync('tar', ['--numeric-owner', '-tvzf', path], { encoding: 'utf8' }).trim().split('\n');
    for (const line of listing) expect(line).toMatch(/^(-rw-r--r--|drwxr-xr-x) 0\/0 .* 1970-01-01 00:00 /);
    const names = listing.map((l) => l.split(' ').pop());
    expect(names).toEqual([
      'bundle.json',
      'cloud.json',
      'cookbooks/',
      'cookbooks/mycook/',
      'cookbooks/mycook/metadata.rb',
      'cookbooks/mycook/recipes/',
      'cookbooks/mycook/recipes/default.rb',
      'cookbooks/poolparty/',
      'cookbooks/poolparty/metadata.rb',
      'cookbooks/poolparty/recipes/',
      'cookbooks/poolparty/recipes/default.rb',
      'dna.json',
      'hooks.json',
      'manifests/',
      'manifests/site.pp',
      'solo.rb',
      'verifiers.json',
    ]);
    const out = join(dir, 'tar-x');
    await mkdir(out);
    execFileSync('tar', ['-xzf', path, '-C', out]);
    expect(JSON.parse(await readFile(join(out, 'dna.json'), 'utf8'))).toEqual({
      poolparty: { cloud: 'web', pool: 'demo' },
      run_list: ['recipe[poolparty]', 'recipe[mycook]'],
    });
    expect(JSON.parse(await readFile(join(out, 'bundle.json'), 'utf8'))).toMatchObject({
      format: 1,
      resolver: ['chef-solo'],
      runList: ['recipe[poolparty]', 'recipe[mycook]'],
      cookbooks: ['mycook'],
    });
    expect(JSON.parse(await readFile(join(out, 'cloud.json'), 'utf8'))).toEqual({ instances: { min: 1, max: 2 } });
    expect(await readFile(join(out, 'cookbooks/mycook/recipes/default.rb'), 'utf8')).toBe("log 'hello from mycook'\n");
    expect(b.summary).toMatchObject({ pool: 'demo', cloud: 'web', resources: 14, byType: { exec: 2, service: 2 } });
  });

  it('rejects unreadable sources and bad cookbooks with one line', async () => {
    const configure = configureSchema.parse({ resources: [file('/x', { source: './missing' })] });
    await expect(buildBundle({ pool: 'p', cloud: 'c', definition: {}, configure, baseDir: dir })).rejects.toThrow(
      new BundleInputError('source ./missing: ENOENT'),
    );
    const noMeta = configureSchema.parse({ cookbooks: ['.'] });
    await expect(
      buildBundle({
        pool: 'p',
        cloud: 'c',
        definition: {},
        configure: noMeta,
        baseDir: join(dir, 'cookbooks', 'mycook', 'recipes'),
      }),
    ).rejects.toThrow(BundleInputError);
    const reserved = configureSchema.parse({ cookbooks: ['poolparty'] });
    await expect(
      buildBundle({ pool: 'p', cloud: 'c', definition: {}, configure: reserved, baseDir: dir }),
    ).rejects.toThrow("the name 'poolparty' is reserved");
  });
});

describe('generated Chef DSL and Puppet manifest', () => {
  it('chef recipe (golden)', async () => {
    expect((await build()).recipe).toMatchInlineSnapshot(`
      "# Generated by PoolParty from the cloud's resources: do not edit, recompile.
      # Runs under chef-solo and itamae alike; ordering is the order below.

      package 'nginx' do
        version '1.22.1-9'
        action :install
      end

      package 'telnet' do
        action :remove
      end

      file '/etc/motd' do
        content 'it\\'s a \\\\ test
      line 2
      '
        mode '0640'
        action :create
        notifies :run, 'execute[reload]', :delayed
      end

      file '/etc/blob' do
        content "tab\\there\\u{d}\\n"
        mode '0644'
        action :create
      end

      execute 'seed' do
        command 'export STAGE=\\'prod\\'; echo seeded >> /srv/seed.log'
        cwd '/srv'
        only_if 'export STAGE=\\'prod\\'; test -d /srv'
        not_if 'test -e \\'/srv/seed.log\\' || (
      export STAGE=\\'prod\\'; test -f /srv/skip
      )'
        action :run
      end

      execute 'reload' do
        command 'echo reload >> /var/log/reloads'
        action :nothing
      end

      service 'restarter' do
        action [:restart]
      end

      # cron[backup]
      file '/etc/cron.d/poolparty-backup' do
        content '# Managed by PoolParty (cron[backup]).
      5 2 * * * root tar czf /b.tgz /srv
      '
        mode '0644'
        action :create
      end

      group 'www' do
        gid 1500
        action :create
      end

      user 'www' do
        uid 1500
        gid 'www'
        home '/srv'
        shell '/usr/sbin/nologin'
        action :create
      end

      execute 'poolparty mkdir -p /srv' do
        command 'mkdir -p \\'/srv\\''
        not_if 'test -e \\'/srv\\''
        action :run
      end

      directory '/srv/www' do
        mode '0750'
        owner 'www'
        group 'www'
        action :create
      end

      # template[/srv/www/index.html]
      file '/srv/www/index.html' do
        content '<h1>Hi</h1>
      '
        mode '0644'
        action :create
        notifies :restart, 'service[web]', :delayed
      end

      link '/srv/current' do
        to '/srv/www'
        action :create
      end

      service 'web' do
        action [:enable, :start]
      end
      "
    `);
  });

  it('puppet manifest (golden)', async () => {
    expect((await build()).manifest).toMatchInlineSnapshot(`
      "# Generated by PoolParty from the cloud's resources: do not edit, recompile.
      # puppet apply --detailed-exitcodes manifests/site.pp

      package { 'nginx':
        ensure => '1.22.1-9',
      }

      package { 'telnet':
        ensure => absent,
      }

      file { '/etc/motd':
        ensure  => file,
        content => 'it\\'s a \\\\ test
      line 2
      ',
        mode    => '0640',
        notify  => Exec['reload'],
      }

      file { '/etc/blob':
        ensure  => file,
        content => "tab\\there\\u{d}\\n",
        mode    => '0644',
      }

      exec { 'seed':
        command   => 'export STAGE=\\'prod\\'; echo seeded >> /srv/seed.log',
        provider  => shell,
        cwd       => '/srv',
        creates   => '/srv/seed.log',
        onlyif    => 'export STAGE=\\'prod\\'; test -d /srv',
        unless    => 'export STAGE=\\'prod\\'; test -f /srv/skip',
        logoutput => true,
      }

      exec { 'reload':
        command     => 'echo reload >> /var/log/reloads',
        provider    => shell,
        refreshonly => true,
        logoutput   => true,
      }

      notify { 'poolparty restart restarter':
        notify => Service['restarter'],
      }

      service { 'restarter':
        ensure => running,
      }

      # cron[backup]
      file { '/etc/cron.d/poolparty-backup':
        ensure  => file,
        content => '# Managed by PoolParty (cron[backup]).
      5 2 * * * root tar czf /b.tgz /srv
      ',
        mode    => '0644',
      }

      group { 'www':
        ensure => present,
        gid    => 1500,
      }

      user { 'www':
        ensure => present,
        uid    => 1500,
        gid    => 'www',
        home   => '/srv',
        shell  => '/usr/sbin/nologin',
      }

      exec { 'poolparty mkdir -p /srv':
        command   => 'mkdir -p \\'/srv\\'',
        provider  => shell,
        creates   => '/srv',
        logoutput => true,
      }

      file { '/srv/www':
        ensure  => directory,
        mode    => '0750',
        owner   => 'www',
        group   => 'www',
        require => Exec['poolparty mkdir -p /srv'],
      }

      # template[/srv/www/index.html]
      file { '/srv/www/index.html':
        ensure  => file,
        content => '<h1>Hi</h1>
      ',
        mode    => '0644',
        notify  => Service['web'],
      }

      file { '/srv/current':
        ensure => link,
        target => '/srv/www',
      }

      service { 'web':
        ensure  => running,
        enable  => true,
        require => Package['nginx'],
      }
      "
    `);
  });

  it('every generated recipe passes ruby -c, every manifest puppet parser validate', async () => {
    const bundles = [
      await build(),
      await buildBundle({
        pool: 'demo',
        cloud: 'web',
        definition: {},
        configure: configureSchema.parse({ resources: [nginx({ port: 8080, message: "it's up" })] }),
        baseDir: dir,
      }),
    ];
    for (const [i, b] of bundles.entries()) {
      const rb = join(dir, `recipe-${i}.rb`);
      const pp = join(dir, `site-${i}.pp`);
      await writeFile(rb, b.recipe);
      await writeFile(pp, b.manifest);
      const ruby = spawnSync('ruby', ['-c', rb], { encoding: 'utf8' });
      expect(ruby.stdout + ruby.stderr).toContain('Syntax OK');
      expect(ruby.status).toBe(0);
      const solo = join(dir, `solo-${i}.rb`);
      await writeFile(solo, (await unpackedFile(b, 'solo.rb')).toString());
      expect(spawnSync('ruby', ['-c', solo]).status).toBe(0);
      const state = join(dir, `puppet-${i}`);
      const puppet = spawnSync(
        'puppet',
        ['parser', 'validate', '--vardir', join(state, 'var'), '--confdir', join(state, 'conf'), pp],
        { encoding: 'utf8' },
      );
      expect(puppet.status, puppet.stderr).toBe(0);
    }
  });

  it('the nginx example plugin renders its page and site config', async () => {
    const b = await buildBundle({
      pool: 'demo',
      cloud: 'web',
      definition: {},
      configure: configureSchema.parse({ resources: [nginx({ port: 8080, message: 'hello', root: '/srv/www' })] }),
      baseDir: dir,
    });
    expect(b.recipe).toContain('listen 8080;\n  root /srv/www;');
    expect(b.recipe).toContain('<p>hello</p>');
    expect(b.recipe).toContain("notifies :restart, 'service[nginx]', :delayed");
    expect(b.manifest).toContain("notify  => Service['nginx']");
    expect(b.summary.plugins).toEqual(['nginx']);
    expect(b.summary.verifiers).toEqual(['nginx serves the page']);
  });
});

async function unpackedFile(b: { bytes: Buffer }, path: string): Promise<Buffer> {
  const entry = (await tarEntries(b.bytes)).find((e) => e.path === path);
  if (!entry?.data) throw new Error(`${path} not in bundle`);
  return entry.data;
}
