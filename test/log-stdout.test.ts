import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { nonBlockingSink } from '../shared/log-stdout.ts';

const CHILD = resolve('test/fixtures/log-busy-reader.ts');

/** A write(2) stand-in: takes `room` bytes, then EAGAIN until given more room. */
function reader(room: number) {
  const got: Buffer[] = [];
  const pipe = {
    room,
    got,
    text: () => Buffer.concat(got).toString(),
    write: (_fd: number, data: Buffer) => {
      if (pipe.room <= 0) throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' });
      const n = Math.min(pipe.room, data.length);
      got.push(Buffer.from(data.subarray(0, n)));
      pipe.room -= n;
      return n;
    },
  };
  return pipe;
}

describe('log lines to a full reader (shared/log-stdout.ts)', () => {
  it('waits for a reader that reads: a line before SIGKILL is not lost', () => {
    const pipe = reader(4);
    let calls = 0;
    const sink = nonBlockingSink(1, {
      write: (fd, data) => {
        // The reader takes 4 bytes every third try: slow, never stuck for blockMs.
        if (++calls % 3 === 0) pipe.room = 4;
        return pipe.write(fd, data);
      },
      blockMs: 500,
    });
    sink.write('a line of 24 characters\n');
    expect(pipe.text()).toBe('a line of 24 characters\n');
  });

  it('queues what the reader cannot take, in order, cut mid-line or not, and hands it over once it can', async () => {
    const pipe = reader(10);
    const sink = nonBlockingSink(1, { write: pipe.write, retryMs: 5, blockMs: 20 });
    sink.write('first line\n');
    sink.write('second\n');
    expect(pipe.text()).toBe('first line');
    pipe.room = 1000;
    await sleep(30);
    sink.write('third\n');
    expect(pipe.text()).toBe('first line\nsecond\nthird\n');
  });

  it('drops past its bound, and says how many once the reader takes lines again', async () => {
    const pipe = reader(0);
    const sink = nonBlockingSink(1, {
      write: pipe.write,
      retryMs: 5,
      blockMs: 0,
      maxQueued: 20,
      now: () => new Date(0),
    });
    for (const line of ['aaaaaaaa\n', 'bbbbbbbb\n', 'cccccccc\n', 'dddddddd\n']) sink.write(line);
    pipe.room = 10_000;
    await sleep(30);
    const lines = pipe.text().trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual(['aaaaaaaa', 'bbbbbbbb']);
    expect(JSON.parse(lines[2] as string)).toMatchObject({ level: 'warn', msg: 'log-lines-dropped', dropped: 2 });
    expect(lines).toHaveLength(3);
  });

  it('a reader that is gone loses the lines, not the process', () => {
    const sink = nonBlockingSink(1, {
      write: () => {
        throw Object.assign(new Error('EPIPE'), { code: 'EPIPE' });
      },
    });
    expect(() => sink.write('lost\n')).not.toThrow();
    expect(() => sink.flushSync(10)).not.toThrow();
  });

  it('a process whose stdout is not read keeps running and answers SIGTERM; what it logged arrives in order, drops counted', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const ticks: number[] = [];
      child.stderr.on('data', (d: Buffer) => {
        for (const _ of d.toString().matchAll(/tick \d+/g)) ticks.push(Date.now());
      });
      child.stdout.pause();
      const out: Buffer[] = [];
      // Up and logging: the first tick (tsx's start takes a while on a loaded machine).
      for (let i = 0; i < 300 && ticks.length === 0; i++) await sleep(100);
      expect(ticks.length, 'the child started').toBeGreaterThan(0);
      // 50 lines of ~260 B every 10 ms fill a socket pair's buffer within a second; a write then
      // waits LOG_BLOCK_MS (1 s) for the reader once, and lines are queued from there on.
      await sleep(2500);
      const from = Date.now();
      await sleep(1500);
      const whileFull = ticks.filter((t) => t >= from).length;
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stdout.resume();
      const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'still running')]);
      expect(code, 'exit after SIGTERM').toBe(0);
      // Before log-stdout.ts the loop stood in Atomics.wait while stdout was full: no tick at all.
      expect(whileFull, 'ticks of its event loop in 1.5 s with stdout full').toBeGreaterThanOrEqual(5);

      await new Promise((res) => (child.stdout.readableEnded ? res(null) : child.stdout.once('end', res)));
      const lines = Buffer.concat(out)
        .toString()
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; i?: number; dropped?: number });
      const ids = lines.filter((l) => l.i !== undefined).map((l) => l.i as number);
      const gaps = ids.slice(1).reduce((sum, id, k) => sum + (id - (ids[k] as number) - 1), 0);
      const dropped = lines.filter((l) => l.msg === 'log-lines-dropped').reduce((s, l) => s + (l.dropped ?? 0), 0);
      expect(ids[0], 'the first line').toBe(0);
      expect(
        ids.every((id, k) => k === 0 || id > (ids[k - 1] as number)),
        'lines in order',
      ).toBe(true);
      expect(dropped, 'lines dropped while the reader was full, as the agent counted them').toBeGreaterThan(0);
      expect(gaps, 'every missing line counted').toBe(dropped);
      // The count comes when the queue has drained, so after the last line SIGTERM queued.
      expect(lines.filter((l) => l.i !== undefined).at(-1)?.msg, 'the last line handed over at exit').toBe('bye');
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
