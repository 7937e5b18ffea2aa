import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { nginx } from '../examples/plugins/nginx/index.ts';
import { configureFields, configureSchema, toConfigure } from '../shared/config/configure-schema.ts';
import { describeIssue } from '../shared/config/describe-issue.ts';
import { compileResources } from '../shared/resources/compile.ts';
import {
  DuplicateResourceError,
  InvalidResourceError,
  ResourceCycleError,
  TemplateError,
  UnknownResourceError,
} from '../shared/resources/errors.ts';
import type { ConfigureInput } from '../shared/resources/index.ts';
import {
  cron,
  definePlugin,
  directory,
  exec,
  file,
  group,
  link,
  service,
  template,
  user,
} from '../shared/resources/index.ts';
import { renderTemplate } from '../shared/resources/template.ts';

const compile = (resources: unknown[], sources = new Map<string, Buffer>()) => compileResources({ resources, sources });
const order = (resources: unknown[]) => compile(resources).map((r) => r.ref);

describe('constructors', () => {
  it('build plain JSON resources with refs for requires and notifies', () => {
    const svc = service('nginx', { enable: true, action: 'start' });
    const f = file('/etc/motd', { content: 'hi', mode: '0644', requires: ['exec[setup]'], notifies: [svc] });
    expect(f).toEqual({
      type: 'file',
      path: '/etc/motd',
      content: 'hi',
      mode: '0644',
      requires: ['exec[setup]'],
      notifies: [{ target: 'service[nginx]', action: 'restart', timing: 'delayed' }],
    });
    expect(JSON.parse(JSON.stringify(f))).toEqual(f);
    const e = exec('reload', { refreshOnly: true });
    expect(file('/a', { notifies: [{ resource: e, timing: 'immediately' }] }).notifies).toEqual([
      { target: 'exec[reload]', action: 'run', timing: 'immediately' },
    ]);
  });

  it('definePlugin returns a typed function producing a plugin instance', () => {
    const motd = definePlugin({
      name: 'motd',
      build: (o: { text: string }) => [file('/etc/motd', { content: o.text })],
    });
    expect(motd.pluginName).toBe('motd');
    expect(motd({ text: 'x' })).toEqual({
      kind: 'plugin',
      name: 'motd',
      resources: [{ type: 'file', path: '/etc/motd', content: 'x' }],
    });
  });
});

describe('compileResources', () => {
  it('names a dependency cycle, in depends-on order from the first declared member', () => {
    const resources = [
      file('/a', { requires: ['exec[b]'] }),
      exec('b', { requires: ['file[/a]'] }),
      file('/unrelated', { content: 'x' }),
    ];
    expect(() => compile(resources)).toThrow(ResourceCycleError);
    expect(() => compile(resources)).toThrow('cycle: file[/a] -> exec[b] -> file[/a]');
  });

  it('counts notifies and implicit parent directories as dependencies in cycles', () => {
    // /d/f lives in /d (implicit), /d requires exec[x], and /d/f notifies exec[x].
    const resources = [
      directory('/d', { requires: ['exec[x]'] }),
      file('/d/f', { notifies: ['exec[x]'] }),
      exec('x', { refreshOnly: true }),
    ];
    expect(() => compile(resources)).toThrow('cycle: directory[/d] -> exec[x] -> file[/d/f] -> directory[/d]');
  });

  it('orders by dependencies and keeps declaration order otherwise', () => {
    expect(
      order([
        file('/srv/site/index.html', { content: 'x' }),
        exec('late', {}),
        directory('/srv/site'),
        file('/b', { requires: ['exec[late]'] }),
        user('www', { gid: 'www' }),
        group('www'),
        file('/owned', { owner: 'www' }),
      ]),
    ).toEqual([
      'exec[late]',
      'directory[/srv/site]',
      'file[/srv/site/index.html]',
      'file[/b]',
      'group[www]',
      'user[www]',
      'file[/owned]',
    ]);
  });

  it('rejects unknown refs, duplicates, and two resources managing one path', () => {
    expect(() => compile([file('/a', { requires: ['exec[nope]'] })])).toThrow(
      new UnknownResourceError('file[/a]: requires exec[nope], which is not declared'),
    );
    expect(() => compile([exec('x'), exec('x')])).toThrow(new DuplicateResourceError('exec[x] is declared twice'));
    expect(() => compile([file('/a'), link('/a', { to: '/b' })])).toThrow('file[/a] and link[/a] both manage /a');
    expect(() => compile([cron('job', { command: 'true', dir: '/c' }), file('/c/poolparty-job')])).toThrow(
      DuplicateResourceError,
    );
  });

  it('rejects bad attributes with one line naming the resource and field', () => {
    expect(() => compile([file('relative/path')])).toThrow(InvalidResourceError);
    expect(() => compile([file('/a/../b')])).toThrow(
      /file\[\/a\/\.\.\/b\]: path: expected an absolute, normalised path/,
    );
    expect(() => compile([file('/a', { mode: '0999' })])).toThrow(/file\[\/a\]: mode: expected an octal mode/);
    expect(() => compile([{ type: 'file', path: '/a', onlyIf: 'true' }])).toThrow(/file\[\/a\]: .*onlyIf/);
    expect(() => compile([file('/a', { content: 'x', source: './x' })])).toThrow(
      'file[/a]: give content or source, not both',
    );
    expect(() => compile([file('/a', { notifies: ['file[/b]'] }), file('/b')])).toThrow(
      'file[/a]: notifies file[/b]: only services and execs can be notified',
    );
    expect(() => compile([{ type: 'widget', name: 'x' }])).toThrow(InvalidResourceError);
  });

  it('renders templates, inlines sources, lowers cron to a file, defaults modes', () => {
    const sources = new Map([['./page.tmpl', Buffer.from('<p>{{ msg }} on {{ site.port }}</p>\n')]]);
    const out = compile(
      [
        template('/www/index.html', { source: './page.tmpl', variables: { msg: 'hi', site: { port: 80 } } }),
        file('/bin.dat', { source: './page.tmpl', mode: '600' }),
        cron('backup', { command: 'run-backup', minute: '*/5', user: 'ops' }),
        directory('/www'),
      ],
      sources,
    );
    const byName = Object.fromEntries(out.map((r) => [r.name, r]));
    expect(byName['/www/index.html']).toMatchObject({ kind: 'file', mode: '0644', ref: 'template[/www/index.html]' });
    expect(String((byName['/www/index.html'] as { content: Buffer }).content)).toBe('<p>hi on 80</p>\n');
    expect(byName['/bin.dat']).toMatchObject({ mode: '0600' });
    expect(String((byName['/etc/cron.d/poolparty-backup'] as { content: Buffer }).content)).toBe(
      '# Managed by PoolParty (cron[backup]).\n*/5 * * * * ops run-backup\n',
    );
    expect(byName['/www']).toMatchObject({ kind: 'directory', mode: '0755' });
  });

  it('folds exec environment into command and guards', () => {
    const [e] = compile([exec('x', { command: 'echo "$A"', env: { B: "it's", A: '1' }, onlyIf: 'test -n "$A"' })]);
    expect(e).toMatchObject({
      command: `export A='1' B='it'\\''s'; echo "$A"`,
      onlyIf: `export A='1' B='it'\\''s'; test -n "$A"`,
    });
  });
});

describe('renderTemplate', () => {
  it('substitutes variables, supports escapes, and names unknown variables', () => {
    expect(renderTemplate('a {{x}} {{ y.z }} \\{{ x }}', { x: 1, y: { z: true } }, 't')).toBe('a 1 true {{ x }}');
    expect(() => renderTemplate('{{ nope }}', {}, 'template[/t]')).toThrow(
      new TemplateError("template[/t]: variable 'nope' is not defined"),
    );
    expect(() => renderTemplate('ok\n{{ 1bad }}', {}, 'template[/t]')).toThrow('template[/t]: line 2:');
    expect(() => renderTemplate('{{ y }}', { y: { z: 1 } }, 't')).toThrow("variable 'y' is an object");
  });
});

describe('configureSchema', () => {
  const parse = (input: unknown) => configureSchema.safeParse(input, { error: describeIssue });

  it('applies defaults', () => {
    expect(configureSchema.parse({})).toEqual({
      resources: [],
      resolver: ['chef-solo'],
      verifiers: [],
      hooks: { beforeConfigure: [], afterConfigure: [], beforeTerminate: [], afterJoin: [] },
      cookbooks: [],
      runList: [],
      attributes: {},
      plugins: [],
    });
  });

  it('normalises resolvers, verifiers, hooks and the run list', () => {
    const c = configureSchema.parse({
      resolver: 'itamae',
      verifiers: [
        { http: 'http://127.0.0.1:8080/', body: 'hi', retries: 2, delay: '1s' },
        { tcp: '127.0.0.1:22' },
        { command: 'true', name: 'truth', timeout: '3s' },
      ],
      hooks: { afterJoin: 'echo joined', beforeConfigure: [{ command: 'echo b', timeout: '5s' }] },
      runList: ['base', 'recipe[web::default]'],
    });
    expect(c.resolver).toEqual(['itamae']);
    expect(c.verifiers).toEqual([
      {
        name: 'http http://127.0.0.1:8080/',
        kind: 'http',
        url: 'http://127.0.0.1:8080/',
        status: 200,
        body: 'hi',
        retries: 2,
        delay: 1000,
        timeout: 5000,
      },
      { name: 'tcp 127.0.0.1:22', kind: 'tcp', host: '127.0.0.1', port: 22, retries: 5, delay: 2000, timeout: 5000 },
      { name: 'truth', kind: 'command', command: 'true', retries: 5, delay: 2000, timeout: 3000 },
    ]);
    expect(c.hooks.afterJoin).toEqual([{ command: 'echo joined', timeout: 60000 }]);
    expect(c.hooks.beforeConfigure).toEqual([{ command: 'echo b', timeout: 5000 }]);
    expect(c.runList).toEqual(['recipe[base]', 'recipe[web::default]']);
  });

  it('expands plugins in place, with their verifiers', () => {
    const c = configureSchema.parse({
      resources: [file('/first'), nginx({ port: 8080, message: 'hello' }), [file('/last')]],
    });
    expect(c.plugins).toEqual(['nginx']);
    expect(c.resources.map((r) => r.type)).toEqual([
      'file',
      'package',
      'directory',
      'template',
      'template',
      'link',
      'service',
      'file',
    ]);
    expect(c.verifiers).toMatchObject([{ kind: 'http', url: 'http://127.0.0.1:8080/', body: 'hello' }]);
  });

  it('accepts the typed ConfigureInput, also spread into a larger object schema', () => {
    const input: ConfigureInput = {
      resources: [file('/a', { content: 'x' }), [nginx({ message: 'm' })]],
      resolver: ['chef-solo', 'itamae'],
      verifiers: [{ tcp: '127.0.0.1:80', delay: '1s' }],
      hooks: { afterJoin: ['echo a', { command: 'echo b', timeout: 1000 }] },
      cookbooks: ['./cookbooks/mine'],
      runList: ['recipe[mine]'],
      attributes: { mine: { port: 1 } },
    };
    const cloud = z
      .strictObject({ instances: z.number(), ...configureFields })
      .transform(({ instances, ...rest }) => ({ instances, configure: toConfigure(rest) }));
    const parsed = cloud.parse({ instances: 1, ...input });
    expect(parsed.configure).toEqual(configureSchema.parse(input));
    expect(parsed.configure.resolver).toEqual(['chef-solo', 'itamae']);
    expect(parsed.configure.resources).toHaveLength(7);
  });

  it('rejects bad input with the field named', () => {
    const r1 = parse({ resolver: ['chef'] });
    expect(r1.success).toBe(false);
    const r2 = parse({ resources: [file('/a', { mode: 'rw' })] });
    expect(r2.error?.issues[0]?.message).toMatch(/^file\[\/a\]: expected an octal mode/);
    const r3 = parse({ verifiers: [{ tcp: 'nohost' }] });
    expect(r3.error?.issues[0]?.message).toContain("expected 'host:port'");
    expect(parse({ runList: ['recipe[bad name]'] }).success).toBe(false);
    expect(parse({ hooks: { onBoot: 'x' } }).success).toBe(false);
  });
});
