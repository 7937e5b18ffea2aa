import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCommand, readHttp } from '../agent/metrics/custom.ts';
import { MetricBodyTooLargeError } from '../agent/metrics/errors.ts';
import { MetricSampler } from '../agent/metrics/sampler.ts';
import { processRuns } from '../shared/remoter/pid.ts';
import type { MetricReading, MetricSourceSpec } from '../shared/wire/metrics.ts';
import { waitFor } from './fixtures/wait.ts';

const system = async () => ({ load: 0, cpu: 0, mem: 1 });

/** Runs a sampler with one custom source through start() and returns that source's first reading. */
async function firstReading(spec: MetricSourceSpec): Promise<MetricReading> {
  const errors: string[] = [];
  const sampler = new MetricSampler({
    sampleInterval: 60_000,
    sources: { m: spec },
    system,
    onError: (_, e) => errors.push(e),
  });
  await sampler.start();
  await sampler.stop();
  const reading = sampler.readings().m!;
  expect(reading.sampledAt).toBeGreaterThan(0);
  // onError sees exactly the failures the reading shows.
  expect(errors).toEqual(reading.error === undefined ? [] : [reading.error]);
  return reading;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pp-metrics-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('command source', () => {
  const command = (cmd: string, timeout = 5000): MetricSourceSpec => ({
    kind: 'command',
    command: cmd,
    every: 60_000,
    timeout,
  });

  it('parses the first number on stdout', async () => {
    expect(await firstReading(command('echo 42'))).toMatchObject({ value: 42 });
    expect(await firstReading(command("printf '0.73\\n'"))).toMatchObject({ value: 0.73 });
    expect(await firstReading(command('echo "7 jobs"; echo 8'))).toMatchObject({ value: 7 });
  });

  it('reports a non-zero exit with its stderr, naming the metric', async () => {
    const r = await firstReading(command('echo oops >&2; exit 3'));
    expect(r.value).toBeNull();
    expect(r.error).toBe("metric 'm' (command 'echo oops >&2; exit 3'): exited with code 3: oops");
  });

  it('reports output that is not a number', async () => {
    const r = await firstReading(command('echo hello'));
    expect(r).toMatchObject({ value: null, error: expect.stringContaining("does not start with a number: 'hello'") });
    expect((await firstReading(command('true'))).error).toContain('stdout is empty');
  });

  it('times out and kills the whole process group', async () => {
    const pids = join(dir, 'timeout.pids');
    // The shell and a background sleep: both must be gone, not just the shell.
    const r = await firstReading(command(`echo $$ > ${pids}; sleep 10 & echo $! >> ${pids}; wait`, 200));
    expect(r.value).toBeNull();
    expect(r.error).toMatch(/^metric 'm' \(command 'echo \$\$ > .+…'\): timed out after 200ms$/);
    const [shell, sleeper] = (await readFile(pids, 'utf8')).trim().split('\n').map(Number);
    expect(shell).toBeGreaterThan(0);
    expect(sleeper).toBeGreaterThan(0);
    await waitFor('the timed-out processes to die', async () => !processRuns(shell!) && !processRuns(sleeper!));
  });

  it('kills a plain foreground sleep on timeout', async () => {
    const pidFile = join(dir, 'sleep.pid');
    const r = await firstReading(command(`echo $$ > ${pidFile}; exec sleep 10`, 200));
    expect(r.error).toContain('timed out after 200ms');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    await waitFor('sleep to die', async () => !processRuns(pid));
  });

  it('settles an aborted read only once the process is gone', async () => {
    const pidFile = join(dir, 'abort.pid');
    const controller = new AbortController();
    const read = readCommand(`echo $$ > ${pidFile}; exec sleep 10`, controller.signal);
    await waitFor('the pid file', async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim() !== '');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(processRuns(pid)).toBe(true);
    controller.abort(new Error('stop now'));
    await expect(read).rejects.toThrow('stop now');
    expect(processRuns(pid)).toBe(false);
  });
});

describe('file source', () => {
  const file = (path: string): MetricSourceSpec => ({ kind: 'file', file: path, every: 50, timeout: 1000 });

  it('reads the number and follows changes to the file', async () => {
    const path = join(dir, 'queue');
    await writeFile(path, '12\n');
    const sampler = new MetricSampler({ sampleInterval: 60_000, sources: { queue: file(path) }, system });
    try {
      await sampler.start();
      expect(sampler.values().queue).toBe(12);
      await writeFile(path, ' 0.5 ');
      await waitFor('the new value', async () => sampler.values().queue === 0.5);
      await writeFile(path, 'garbage');
      // writeFile truncates first, so a read may briefly see an empty file: wait for the garbage.
      await waitFor('the error', async () => sampler.readings().queue?.error?.includes("'garbage'") === true);
      expect(sampler.readings().queue).toMatchObject({ value: null, error: expect.stringContaining('not a number') });
    } finally {
      await sampler.stop();
    }
  });

  it('reports a missing file', async () => {
    const path = join(dir, 'nope');
    const r = await firstReading(file(path));
    expect(r).toMatchObject({ value: null, error: `metric 'm' (file ${path}): cannot open: no such file (ENOENT)` });
  });

  it('reports an empty file and a directory', async () => {
    const empty = join(dir, 'empty');
    await writeFile(empty, '');
    expect((await firstReading(file(empty))).error).toContain('content is empty');
    expect((await firstReading(file(dir))).error).toContain('is a directory');
  });
});

/** Bytes the /huge handler managed to write before its connection closed, per request. */
const hugeWritten: Promise<number>[] = [];
const HUGE_TOTAL = 16 * 1024 * 1024;
const HUGE_CHUNK = 8 * 1024;

/**
 * A chunked answer (no Content-Length) of 16 MB of digits, written only as fast as the client
 * takes it (backpressure), so what was written when the connection closed shows how much was read.
 */
function streamHuge(res: import('node:http').ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' }); // no content-length: chunked
  const chunk = Buffer.alloc(HUGE_CHUNK, '1');
  let written = 0;
  hugeWritten.push(
    new Promise((resolve) => {
      res.on('close', () => resolve(written));
      const pump = (): void => {
        while (written < HUGE_TOTAL && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!res.destroyed) res.end();
      };
      pump();
    }),
  );
}

describe('http source', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const send = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(body);
      };
      if (req.url === '/json') send(200, JSON.stringify({ a: { b: [{ c: 7.25 }] }, s: '3' }));
      else if (req.url === '/plain') send(200, '42\n');
      else if (req.url === '/garbage') send(200, 'hello');
      else if (req.url === '/down') send(503, '0');
      else if (req.url === '/slow')
        return; // never answers
      else if (req.url === '/huge') streamHuge(res);
      else send(404, 'not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const http = (path: string, jsonPath?: string, timeout = 5000): MetricSourceSpec => ({
    kind: 'http',
    http: `${base}${path}`,
    ...(jsonPath === undefined ? {} : { path: jsonPath }),
    every: 60_000,
    timeout,
  });

  it('walks a JSON path, or takes the body as the number', async () => {
    expect(await firstReading(http('/json', 'a.b.0.c'))).toMatchObject({ value: 7.25 });
    expect(await firstReading(http('/json', 's'))).toMatchObject({ value: 3 });
    expect(await firstReading(http('/plain'))).toMatchObject({ value: 42 });
  });

  it('reports non-2xx, garbage, a missing path and a refused connection', async () => {
    expect((await firstReading(http('/down'))).error).toBe(
      `metric 'm' (http ${base}/down): HTTP 503 Service Unavailable`,
    );
    expect((await firstReading(http('/garbage'))).error).toContain("body is not a number: 'hello'");
    expect((await firstReading(http('/garbage', 'a'))).error).toContain("body is not JSON: 'hello'");
    expect((await firstReading(http('/json', 'a.x'))).error).toContain("'a.x' not found");

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused: MetricSourceSpec = { kind: 'http', http: `http://127.0.0.1:${port}/`, every: 60_000, timeout: 5000 };
    expect((await firstReading(refused)).error).toContain('request failed: connection refused (ECONNREFUSED)');
  });

  it('times out on a server that never answers', async () => {
    const r = await firstReading(http('/slow', undefined, 200));
    expect(r).toMatchObject({ value: null, error: `metric 'm' (http ${base}/slow): timed out after 200ms` });
  });

  it('stops reading a chunked answer once it passes 64 KiB and names the metric and the limit', async () => {
    const limit = 64 * 1024;
    const r = await firstReading(http('/huge'));
    expect(r).toMatchObject({ value: null, error: `metric 'm' (http ${base}/huge): body larger than ${limit} bytes` });
    // The connection was closed early: the server could not push the 16 MB through.
    expect(await hugeWritten[0]).toBeLessThan(HUGE_TOTAL / 4);

    const err = await readHttp(`${base}/huge`, undefined, AbortSignal.timeout(5000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetricBodyTooLargeError);
    const { bytesRead } = err as MetricBodyTooLargeError;
    expect(bytesRead).toBeGreaterThan(limit);
    // At most one read past the limit (a socket read is at most 64 KiB).
    expect(bytesRead).toBeLessThanOrEqual(limit + 64 * 1024);
    expect(await hugeWritten[1]).toBeLessThan(HUGE_TOTAL / 4);
  });
});
