import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { type CloudInput, definePool, ec2, local, ssh } from '../shared/index.ts';

/**
 * What a user sees in their editor while writing clouds.ts: the input types come from the
 * schemas (z.input), so they must reject what the schemas reject and carry the schema fields'
 * doc comments. The @ts-expect-error lines are checked by `tsc --noEmit` (npm run typecheck): a
 * line that stops being an error fails the typecheck.
 */

const image = { imageId: 'ami-0123456789abcdef0', instanceType: 't3.small' };
const base = { instances: { min: 1, max: 2 }, using: local() };
/** A cloud checked against CloudInput alone, as `satisfies CloudInput` would. */
const cloud = (c: CloudInput): CloudInput => c;

describe('clouds.ts input types', () => {
  it('rejects wrong types and unknown options where users write them', () => {
    const pools = [
      definePool({
        name: 'p',
        clouds: {
          // @ts-expect-error min is a number
          web: { instances: { min: '1', max: 2 }, using: local() },
        },
      }),
      // A misspelt key anywhere in the literal is an error in the editor (issue 17), as loadPool
      // also says at run time: definePool is not generic, so excess-property checks stay on.
      definePool({
        name: 'p',
        clouds: {
          // @ts-expect-error instancez is not a key (instances is)
          web: { instancez: { min: 1, max: 2 }, using: local() },
        },
      }),
      definePool({
        name: 'p',
        clouds: {
          // @ts-expect-error firstAdress is not a key of local() inside definePool either
          web: { instances: { min: 1, max: 2 }, using: { provider: 'local', firstAdress: '127.0.0.2' } },
        },
      }),
      // @ts-expect-error ssh hosts are required
      ssh({ user: 'admin' }),
      // @ts-expect-error a port is a number
      ssh({ hosts: ['10.0.0.1'], port: '22' }),
      // @ts-expect-error init is systemd, none or auto
      ssh({ hosts: ['10.0.0.1'], init: 'upstart' }),
      // @ts-expect-error unknown ssh option
      ssh({ hosts: ['10.0.0.1'], password: 'x' }),
      // @ts-expect-error a host entry needs its host
      ssh({ hosts: [{ port: 22 }] }),
      // @ts-expect-error firstAddress is a string
      local({ firstAddress: 2 }),
      // @ts-expect-error unknown local option
      local({ address: '127.0.0.2' }),
      // @ts-expect-error the ssh section's address is public or private
      ec2({ ...image, ssh: { address: 'elastic' } }),
      // @ts-expect-error ec2 needs an image
      ec2({ instanceType: 't3.small' }),
      // @ts-expect-error a block device's size is a number of GiB
      ec2({ ...image, blockDevices: [{ deviceName: '/dev/xvda', sizeGiB: '8' }] }),
      // @ts-expect-error unknown ec2 option
      ec2({ ...image, accessKeyId: 'x' }),
      // @ts-expect-error unknown option of the ec2 ssh section
      ec2({ ...image, ssh: { password: 'x' } }),
      cloud({
        ...base,
        // @ts-expect-error a metric needs command, file or http
        metrics: { queue: { every: '1s' } },
      }),
      cloud({
        ...base,
        // @ts-expect-error a metric's every is a duration
        metrics: { queue: { command: 'echo 1', every: true } },
      }),
      cloud({
        ...base,
        // @ts-expect-error a verifier's retries is a number
        verifiers: [{ http: 'http://127.0.0.1/', retries: 'many' }],
      }),
      cloud({
        ...base,
        // @ts-expect-error a resolver is chef-solo, itamae or puppet
        resolver: 'chef',
      }),
      cloud({
        ...base,
        // @ts-expect-error hooks are named for their event
        hooks: { onBoot: 'echo' },
      }),
      cloud({
        ...base,
        // @ts-expect-error resources are resources and plugin results
        resources: ['file /a'],
      }),
    ];
    // The builders stay plain objects at run time: types are all the checking they do.
    expect(pools[3]).toEqual({ provider: 'ssh', user: 'admin' });
  });

  it('accepts what the schemas accept, durations as ms or text', () => {
    const pool = definePool({
      name: 'p',
      clouds: {
        web: {
          instances: { min: 1, max: 3 },
          using: ssh({ hosts: ['10.0.0.1', { host: 'b', port: 2222, prefix: '/tmp/x' }], waitTimeout: '2m' }),
          metrics: { queue: { http: 'http://127.0.0.1/q', path: 'depth', every: 1000, timeout: '1s' } },
          verifiers: [{ tcp: '127.0.0.1:80', retries: 2, delay: '1s' }],
        },
        ec: { instances: { min: 0, max: 1 }, using: ec2({ ...image, ssh: { address: 'private', waitTimeout: '3m' } }) },
        lo: { instances: { min: 0, max: 1 }, using: local({ firstAddress: '127.0.0.9', p2pPort: 9000 }) },
      },
    });
    expect(pool.clouds.web?.using.provider).toBe('ssh');
    expect(pool.clouds.lo?.using).toEqual({ provider: 'local', firstAddress: '127.0.0.9', p2pPort: 9000 });
  });

  it("shows the schema fields' doc comments when hovering over options in clouds.ts", () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const file = `${root}test/__hover__.ts`;
    // Nested fields are hovered in a typed cloud (CloudInput), and the pool-level ones in
    // definePool's literal, whose parameter is PoolInput.
    const source = [
      "import { type CloudInput, definePool, ec2, local, ssh } from '../shared/index.ts';",
      'const web: CloudInput = {',
      '  instances: { min: 1, max: 2 },',
      "  using: ssh({ hosts: ['h'], waitTimeout: '1m' }),",
      "  metrics: { q: { command: 'x', every: '1s' }, f: { file: 'f', timeout: 1 } },",
      '  monitor: { port: 9000 },',
      '  scaling: { expandBy: 2 },',
      "  resolver: ['itamae'],",
      "  verifiers: [{ tcp: '127.0.0.1:80', retries: 2 }],",
      "  hooks: { afterJoin: 'echo joined' },",
      '};',
      'definePool({',
      "  name: 'p',",
      '  clouds: {',
      '    web,',
      "    e: { instances: { min: 0, max: 1 }, using: ec2({ imageId: 'ami-01234567', instanceType: 't3.small', ssh: { address: 'public' } }) },",
      "    l: { instances: { min: 0, max: 1 }, using: local({ firstAddress: '127.0.0.2' }) },",
      '  },',
      '});',
    ].join('\n');
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: [],
    };
    const host: ts.LanguageServiceHost = {
      getScriptFileNames: () => [file],
      getScriptVersion: () => '1',
      getScriptSnapshot: (name) => {
        const text = name === file ? source : ts.sys.readFile(name);
        return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
      },
      getCurrentDirectory: () => root,
      getCompilationSettings: () => options,
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: (name) => name === file || ts.sys.fileExists(name),
      readFile: (name) => (name === file ? source : ts.sys.readFile(name)),
      readDirectory: ts.sys.readDirectory,
      directoryExists: ts.sys.directoryExists,
      getDirectories: ts.sys.getDirectories,
    };
    const service = ts.createLanguageService(host);
    const errors = service
      .getSemanticDiagnostics(file)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(errors).toEqual([]);
    const hover = (word: string, occurrence = 0): string => {
      let at = -1;
      for (let i = 0; i <= occurrence; i++) at = source.indexOf(word, at + 1);
      const info = service.getQuickInfoAtPosition(file, at);
      return ts.displayPartsToString(info?.documentation);
    };
    const docs = {
      instances: hover('instances'),
      waitTimeout: hover('waitTimeout'),
      every: hover('every'),
      timeout: hover('timeout'),
      monitorPort: hover('port: 9000'),
      expandBy: hover('expandBy'),
      address: hover("address: 'public'"),
      firstAddress: hover('firstAddress'),
      instanceType: hover('instanceType'),
      resolver: hover('resolver'),
      tcp: hover('tcp'),
      afterJoin: hover('afterJoin'),
    };
    expect(docs).toEqual({
      instances: expect.stringMatching(/^Bounds of the instance count/),
      waitTimeout: expect.stringMatching(/^How long to wait for a host's SSH to answer/),
      every: expect.stringMatching(/^How often the metric is sampled .* Default 5000/),
      timeout: expect.stringMatching(/^A sample taking longer than this fails/),
      monitorPort: expect.stringMatching(/Default 8642/),
      expandBy: expect.stringMatching(/^Instances added per expansion/),
      address: expect.stringMatching(/^Which address the laptop connects to/),
      firstAddress: expect.stringMatching(/^First loopback address handed to an instance/),
      instanceType: expect.stringMatching(/^e\.g\. 't3\.small'/),
      resolver: expect.stringMatching(/^One resolver, or a fallback list/),
      tcp: expect.stringMatching(/^'host:port' that must accept a connection/),
      afterJoin: expect.stringMatching(/^Once, when the node has its configuration/),
    });
  }, 60_000);
});
