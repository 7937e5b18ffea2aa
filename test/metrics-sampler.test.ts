import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricSampler } from '../agent/metrics/sampler.ts';
import { processRuns } from '../shared/remoter/pid.ts';
import type { MetricReading, MetricSourceSpec } from '../shared/wire/metrics.ts';
import { waitFor } from './fixtures/wait.ts';

const system = async () => ({ load: 0.123456, cpu: 12.345678, mem: 40 });

/** Child processes still holding a handle in this process: what a leaking sampler would leave. */
async function liveProcesses(): Promise<number> {
  // A reaped child's handle closes on the next loop turn.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  return process.getActiveResourcesInfo().filter((r) => r === 'ProcessWrap').length;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pp-sampler-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('MetricSampler', () => {
  it('has first values of every metric once start() resolves, rounded, stamped by the injected clock', async () => {
    const sampler = new MetricSampler({
      sampleInterval: 60_000,
      sources: { jobs: { kind: 'command', command: 'echo 1.23456789', every: 60_000, timeout: 5000 } },
      now: () => 1_700_000_000_000,
      system,
    });
    expect(sampler.values()).toEqual({ load: null, cpu: null, mem: null, jobs: null });
    await sampler.start();
    await sampler.stop();
    expect(sampler.values()).toEqual({ load: 0.1235, cpu: 12.3457, mem: 40, jobs: 1.2346 });
    expect(sampler.readings().jobs).toEqual({ value: 1.2346, sampledAt: 1_700_000_000_000 });
  });

  it('calls onError for each failed read and keeps the others', async () => {
    const errors: [string, string][] = [];
    const sampler = new MetricSampler({
      sampleInterval: 60_000,
      sources: {
        bad: { kind: 'command', command: 'exit 3', every: 60_000, timeout: 5000 },
        good: { kind: 'command', command: 'echo 1', every: 60_000, timeout: 5000 },
      },
      system,
      onError: (metric, error) => {
        errors.push([metric, error]);
        throw new Error('a faulty listener must not break sampling');
      },
    });
    await sampler.start();
    await sampler.stop();
    expect(errors).toEqual([['bad', "metric 'bad' (command 'exit 3'): exited with code 3"]]);
    expect(sampler.values()).toMatchObject({ bad: null, good: 1 });
  });

  it('turns a failing system sample into three errors', async () => {
    const errors: string[] = [];
    const sampler = new MetricSampler({
      sampleInterval: 60_000,
      sources: {},
      system: async () => {
        throw new Error('no /proc');
      },
      onError: (metric) => errors.push(metric),
    });
    await sampler.start();
    await sampler.stop();
    expect(errors).toEqual(['load', 'cpu', 'mem']);
    expect(sampler.readings().cpu).toMatchObject({ value: null, error: "metric 'cpu' (system): no /proc" });
  });

  it('refuses custom metrics that shadow built-ins or break the wire format', () => {
    const spec: MetricSourceSpec = { kind: 'file', file: '/dev/null', every: 1000, timeout: 1000 };
    const make =
      (sources: Record<string, MetricSourceSpec>, sampleInterval = 1000) =>
      () =>
        new MetricSampler({ sampleInterval, sources, system });
    expect(make({ cpu: spec })).toThrowError(
      expect.objectContaining({
        name: 'MetricNameError',
        message: expect.stringContaining("'cpu' shadows a built-in"),
      }),
    );
    expect(make({ 'bad name': spec })).toThrowError(expect.objectContaining({ name: 'MetricNameError' }));
    expect(make({ q: { ...spec, every: 0 } })).toThrowError(
      expect.objectContaining({ name: 'MetricConfigError', message: expect.stringContaining('metrics.q.every') }),
    );
    expect(make({}, Number.NaN)).toThrowError(expect.objectContaining({ name: 'MetricConfigError' }));
  });

  it('never overlaps a slow source with itself', async () => {
    const log = join(dir, 'overlap.log');
    const sampler = new MetricSampler({
      sampleInterval: 60_000,
      // Ticks every 20 ms, reads take ~150 ms: without the guard, reads would pile up.
      sources: {
        slow: {
          kind: 'command',
          command: `echo s >> ${log}; sleep 0.15; echo e >> ${log}; echo 1`,
          every: 20,
          timeout: 5000,
        },
      },
      system,
    });
    await sampler.start();
    // Three whole reads: at least a dozen ticks fell on a read in progress.
    await waitFor('three reads of the slow source', async () => {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text.split('e\n').length > 3;
    });
    await sampler.stop();
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(lines).toEqual(lines.map((_, i) => (i % 2 === 0 ? 's' : 'e')));
  });

  it('stop() kills a running command and leaves no process behind', async () => {
    const before = await liveProcesses();
    const marker = join(dir, 'first-done');
    const pidFile = join(dir, 'running.pid');
    // Fast the first time (so start() resolves), then hangs for 10 s on every later read.
    const command = `if [ -e ${marker} ]; then echo $$ > ${pidFile}; exec sleep 10; else : > ${marker}; echo 1; fi`;
    const sampler = new MetricSampler({
      sampleInterval: 30,
      sources: {
        hang: { kind: 'command', command, every: 30, timeout: 30_000 },
        file: { kind: 'file', file: marker, every: 30, timeout: 1000 },
      },
      system,
    });
    await sampler.start();
    expect(sampler.values().hang).toBe(1);
    const pid = await waitFor('the hanging read to start', async () =>
      Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()),
    );
    expect(processRuns(pid)).toBe(true);

    await sampler.stop();
    expect(processRuns(pid)).toBe(false);
    expect(await liveProcesses()).toBe(before);
    // Readings survive stop(), and a stopped sampler stays stopped.
    expect(sampler.values().hang).toBe(1);
    await sampler.start();
    expect(await liveProcesses()).toBe(before);
  });

  it('stop() during start() kills the first read and starts nothing', async () => {
    const before = await liveProcesses();
    const pidFile = join(dir, 'first-read.pid');
    const sampler = new MetricSampler({
      sampleInterval: 30,
      sources: { s: { kind: 'command', command: `echo $$ > ${pidFile}; exec sleep 10`, every: 30, timeout: 30_000 } },
      system,
    });
    const starting = sampler.start();
    const pid = await waitFor('the first read to start', async () =>
      Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()),
    );
    await sampler.stop();
    await starting;
    expect(processRuns(pid)).toBe(false);
    expect(await liveProcesses()).toBe(before);
  });

  it('leaves nothing that keeps a process alive after stop()', async () => {
    // A port nothing listens on, so the http source fails fast without leaving loopback.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const file = join(dir, 'value');
    await writeFile(file, '5');
    const script = join(dir, 'exit-check.mts');
    const sources: Record<string, MetricSourceSpec> = {
      c: { kind: 'command', command: 'echo 1', every: 20, timeout: 5000 },
      h: { kind: 'command', command: 'sleep 10', every: 20, timeout: 300 },
      f: { kind: 'file', file, every: 20, timeout: 5000 },
      w: { kind: 'http', http: `http://127.0.0.1:${port}/`, every: 20, timeout: 5000 },
    };
    await writeFile(
      script,
      `import { MetricSampler } from ${JSON.stringify(resolve('agent/metrics/sampler.ts'))};
import { waitFor } from ${JSON.stringify(resolve('test/fixtures/wait.ts'))};
const sampler = new MetricSampler({ sampleInterval: 20, sources: ${JSON.stringify(sources)} });
await sampler.start();
// Stop only once the periodic reads run, so there are timers and reads in flight to leak.
const first = sampler.readings().c.sampledAt;
await waitFor('a periodic read', () => sampler.readings().c.sampledAt > first, { everyMs: 5 });
await sampler.stop();
console.log(JSON.stringify(sampler.values()));
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // Generous bound for a loaded machine; a leaked interval would keep it alive forever.
    const bound = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
      child.on('close', (c, s) => r([c, s])),
    );
    clearTimeout(bound);
    expect({ code, signal, err }).toEqual({ code: 0, signal: null, err: '' });
    const values = JSON.parse(out);
    expect(values).toMatchObject({ c: 1, f: 5, w: null, h: null });
    expect(values.mem).toBeGreaterThan(0);
  });
});

describe('a counter source', () => {
  it('publishes the per-second rate between its reads: none at first or after a reset, a failed read keeps the baseline', async () => {
    const file = join(dir, 'requests');
    writeFileSync(file, '100');
    // What each read after start() finds in the file, and the clock it is stamped with.
    const script: Array<[content: string, at: number]> = [
      ['150', 3000],
      ['90', 4000], // the counting process restarted
      ['garbage', 5000],
      ['100', 6000],
    ];
    let armed = false;
    let reads = 0;
    /** The reading as it stood when each scripted read completed, before that read was published. */
    const seen: MetricReading[] = [];
    // The sampler asks the clock once per completed read of the counter (the built-ins are read
    // only during start()), so the clock is where the test advances the counter for the next read:
    // every read sees exactly its scripted value at its scripted time, however loaded the machine.
    const now = (): number => {
      if (!armed) return 1000;
      seen.push(sampler.readings().requests as MetricReading);
      const i = reads++;
      const next = script[i + 1];
      if (next) writeFileSync(file, next[0]);
      return (script[Math.min(i, script.length - 1)] as [string, number])[1];
    };
    const sampler = new MetricSampler({
      sampleInterval: 60_000,
      sources: { requests: { kind: 'file', file, every: 20, timeout: 1000, counter: true } },
      now,
      system,
    });
    try {
      await sampler.start();
      // The first read is only a baseline.
      expect(sampler.readings().requests).toEqual({ value: null, sampledAt: 0 });
      writeFileSync(file, (script[0] as [string, number])[0]);
      armed = true;
      // One more read past the script: the same value at the same time yields nothing either.
      await waitFor('every scripted read', () => seen.length > script.length + 1);
    } finally {
      await sampler.stop();
    }
    expect(seen.slice(0, script.length + 1)).toEqual([
      { value: null, sampledAt: 0 },
      { value: 25, sampledAt: 3000 }, // (150 - 100) / 2 s
      { value: 25, sampledAt: 3000 }, // 90 < 150: no sample, never a negative rate
      { value: null, sampledAt: 5000, error: expect.stringContaining("not a number: 'garbage'") },
      { value: 5, sampledAt: 6000 }, // (100 - 90) / 2 s: measured from the restarted counter across the failure
    ]);
    expect(sampler.readings().requests).toEqual({ value: 5, sampledAt: 6000 });
    expect(sampler.values().requests).toBe(5);
  });
});
