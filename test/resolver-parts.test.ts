import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEF_INSTALL_HINT, chefSoloResolver } from '../agent/configure/chef-solo.ts';
import { runHooks } from '../agent/configure/hooks.ts';
import { itamaeResolver } from '../agent/configure/itamae.ts';
import { runProcess } from '../agent/configure/process.ts';
import { puppetResolver } from '../agent/configure/puppet.ts';
import { selectResolver } from '../agent/configure/select.ts';
import { NoResolverError } from '../agent/configure/types.ts';
import { runVerifiers } from '../agent/configure/verifiers.ts';
import { buildBundle } from '../shared/bundle/build.ts';
import { unpackBundle } from '../shared/bundle/unpack.ts';
import { configureSchema, type VerifierSpec } from '../shared/config/configure-schema.ts';
import { processRuns } from '../shared/remoter/pid.ts';
import { file } from '../shared/resources/index.ts';
import { waitFor } from './fixtures/wait.ts';

let work: string;
let http: Server;
let httpPort: number;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'poolparty-resolver-parts-'));
  http = createServer((req, res) => {
    if (req.url === '/ok') res.end('all systems go');
    else {
      res.statusCode = 503;
      res.end('down');
    }
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpPort = (http.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => http.close(r));
  await rm(work, { recursive: true, force: true });
});

describe('runProcess', () => {
  it('streams output line by line, in order, across chunks', async () => {
    const lines: string[] = [];
    const r = await runProcess('sh', ['-c', 'printf "one\\ntw"; sleep 0.1; printf "o\\nthree"; echo err >&2'], {
      timeout: 10_000,
      onLine: (line, stream) => lines.push(`${stream}:${line}`),
    });
    expect(r).toMatchObject({ code: 0, timedOut: false });
    expect(lines.filter((l) => l.startsWith('stdout:'))).toEqual(['stdout:one', 'stdout:two', 'stdout:three']);
    expect(lines).toContain('stderr:err');
  });

  it('kills the whole process group on timeout', async () => {
    const pidFile = join(work, 'bg.pid');
    const r = await runProcess('sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { timeout: 300, killGrace: 200 });
    expect(r.timedOut).toBe(true);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await waitFor('the backgrounded sleep killed', () => !processRuns(pid), { timeoutMs: 5_000 });
  });

  it('reports a missing executable instead of throwing', async () => {
    const r = await runProcess('poolparty-no-such-binary', [], { timeout: 1000 });
    expect(r.code).toBeNull();
    expect(r.spawnError).toMatch(/ENOENT/);
  });
});

describe('resolver selection', () => {
  const missingChef = chefSoloResolver({ binaries: ['poolparty-no-such-chef-solo', 'poolparty-no-such-cinc-solo'] });

  it('a missing tool names what to install', async () => {
    expect(await missingChef.available()).toBe(CHEF_INSTALL_HINT);
    expect(await itamaeResolver({ binary: 'poolparty-no-such-itamae' }).available()).toMatch(
      /install the Debian package 'itamae'/,
    );
    expect(await puppetResolver({ binary: 'poolparty-no-such-puppet' }).available()).toMatch(
      /install the Debian package 'puppet'/,
    );
    const r = await missingChef.apply(work, { timeout: 1000 });
    expect(r).toMatchObject({ ok: false, resolver: 'chef-solo', error: CHEF_INSTALL_HINT });
  });

  it('picks the first available resolver of the list', async () => {
    expect((await selectResolver([missingChef, itamaeResolver(), puppetResolver()])).name).toBe('itamae');
  });

  it('none available: one error listing each and what to install', async () => {
    const none = [missingChef, itamaeResolver({ binary: 'poolparty-no-such-itamae' })];
    await expect(selectResolver(none)).rejects.toThrow(NoResolverError);
    await expect(selectResolver(none)).rejects.toThrow(
      /^no resolver available \(chef-solo: neither chef-solo nor cinc-solo .*; itamae: itamae is not on PATH/,
    );
  });

  it('itamae and puppet refuse a run list with user cookbooks instead of half-applying it', async () => {
    const cookbook = join(work, 'extra');
    await mkdir(cookbook, { recursive: true });
    await writeFile(join(cookbook, 'metadata.rb'), "name 'extra'\n");
    const configure = configureSchema.parse({
      resources: [file(`${work}/never`)],
      cookbooks: ['extra'],
      runList: ['extra'],
    });
    const b = await buildBundle({ pool: 'p', cloud: 'c', definition: {}, configure, baseDir: work });
    const dir = join(work, 'b', b.sha256);
    await unpackBundle(b.bytes, b.sha256, dir);
    for (const resolver of [itamaeResolver(), puppetResolver()]) {
      const r = await resolver.apply(dir, { timeout: 30_000 });
      expect(r.ok).toBe(false);
      expect(r.error).toBe(
        `${resolver.name} runs only the generated resources, but the run list also has recipe[extra]: use chef-solo`,
      );
    }
  });
});

describe('verifiers', () => {
  const spec = (v: Partial<VerifierSpec> & Pick<VerifierSpec, 'kind'>): VerifierSpec =>
    ({ name: v.kind, retries: 0, delay: 0, timeout: 2000, ...v }) as VerifierSpec;

  it('HTTP status and body, TCP, command — results as data', async () => {
    const tcp = createTcpServer((s) => s.end());
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const openPort = (tcp.address() as AddressInfo).port;
    const closed = createTcpServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    try {
      const base = `http://127.0.0.1:${httpPort}`;
      const results = await runVerifiers([
        spec({ kind: 'http', name: 'ok', url: `${base}/ok`, status: 200, body: 'systems' }),
        spec({ kind: 'http', name: 'match', url: `${base}/ok`, status: 200, bodyMatch: '^all .* go$' }),
        spec({ kind: 'http', name: 'down', url: `${base}/down`, status: 200 }),
        spec({ kind: 'http', name: 'wrong body', url: `${base}/ok`, status: 200, body: 'nope' }),
        spec({ kind: 'http', name: 'expected 503', url: `${base}/down`, status: 503 }),
        spec({ kind: 'tcp', name: 'open', host: '127.0.0.1', port: openPort }),
        spec({ kind: 'tcp', name: 'closed', host: '127.0.0.1', port: closedPort }),
        spec({ kind: 'command', name: 'true', command: 'true' }),
        spec({ kind: 'command', name: 'false', command: 'exit 4' }),
        spec({ kind: 'command', name: 'slow', command: 'sleep 10', timeout: 200 }),
      ]);
      expect(results.map((r) => [r.name, r.ok, r.error])).toEqual([
        ['ok', true, undefined],
        ['match', true, undefined],
        ['down', false, 'status 503, expected 200'],
        ['wrong body', false, 'body does not contain "nope"'],
        ['expected 503', true, undefined],
        ['open', true, undefined],
        ['closed', false, 'ECONNREFUSED'],
        ['true', true, undefined],
        ['false', false, 'exited with 4'],
        ['slow', false, 'timed out after 200 ms'],
      ]);
    } finally {
      await new Promise((r) => tcp.close(r));
    }
  });

  it('retries with the configured delay until success or attempts run out', async () => {
    const flag = join(work, 'flag');
    const delays: number[] = [];
    const retried: number[] = [];
    const sleep = async (ms: number) => {
      delays.push(ms);
      if (delays.length === 2) await writeFile(flag, '');
    };
    const [eventually] = await runVerifiers(
      [spec({ kind: 'command', command: `test -f ${flag}`, retries: 5, delay: 1500 })],
      { sleep, onRetry: (_n, attempt) => retried.push(attempt) },
    );
    expect(eventually).toMatchObject({ ok: true, attempts: 3 });
    expect(delays).toEqual([1500, 1500]);
    expect(retried).toEqual([1, 2]);
    const [never] = await runVerifiers([spec({ kind: 'command', command: 'false', retries: 2, delay: 7 })], {
      sleep: async () => {},
    });
    expect(never).toMatchObject({ ok: false, attempts: 3, error: 'exited with 1' });
  });
});

describe('hooks', () => {
  it('run in order with the event name, stop at the first failure, and time out', async () => {
    const out = join(work, 'hooks.log');
    const { ok, results } = await runHooks(
      {
        afterJoin: [
          { command: `echo "first $POOLPARTY_HOOK" >> ${out}`, timeout: 5000 },
          { command: 'exit 7', timeout: 5000 },
          { command: `echo never >> ${out}`, timeout: 5000 },
        ],
      },
      'afterJoin',
    );
    expect(ok).toBe(false);
    expect(results.map((r) => [r.ok, r.error])).toEqual([
      [true, undefined],
      [false, 'exited with 7'],
    ]);
    expect(await readFile(out, 'utf8')).toBe('first afterJoin\n');
    const slow = await runHooks({ beforeTerminate: [{ command: 'sleep 10', timeout: 200 }] }, 'beforeTerminate');
    expect(slow.results[0]).toMatchObject({ ok: false, timedOut: true, error: 'timed out after 200 ms' });
    expect(await runHooks({}, 'afterConfigure')).toEqual({ ok: true, results: [] });
  });
});
