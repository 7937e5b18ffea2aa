import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { kernelState, looksWedged, wedgeReport } from './bench/lib/kernel-state.ts';

/** The two ways the quiet-machine wedge could look from /proc (test/bench/lib/kernel-state.ts). */
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function child(code: string, stdout: 'pipe' | 'ignore'): ChildProcess {
  const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', stdout, 'ignore'] });
  children.push(c);
  return c;
}

async function until<T>(fn: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(process.platform !== 'linux')('kernel state of a process (/proc)', () => {
  it('a Node process with a full stdout is not blocked (the write waits in the event loop); its reader is named', async () => {
    // 1 MiB does not fit in the socket pair spawn gives stdout: the loop stays in epoll_wait.
    const c = child("process.stdout.write('x'.repeat(1 << 20)); setInterval(() => {}, 1000);", 'pipe');
    c.stdout?.pause();
    const pid = c.pid as number;
    const report = await until(() => {
      const r = wedgeReport(pid);
      return r.call?.startsWith('epoll_pwait(') && r.pipes['1'] ? r : undefined;
    });
    expect(report.state).toBe('S');
    expect(report.fds['1']).toMatch(/^socket:\[\d+\]$/);
    const peer = report.pipes['1']?.find((h) => h.startsWith('peer '));
    expect(peer).toContain(`pid=${process.pid},`);
    // What the child wrote and we did not read waits at our end.
    expect(Number(/recv-q (\d+)/.exec(peer ?? '')?.[1])).toBeGreaterThan(0);
    expect(report.threads.length).toBeGreaterThan(1);
  });

  it('a Node main thread blocked in a wait shows futex and no CPU', async () => {
    const c = child('Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);', 'ignore');
    const pid = c.pid as number;
    const report = await until(() => {
      const r = wedgeReport(pid);
      return r.call === 'futex(0x' + (r.syscall?.split(' ')[1]?.slice(2) ?? '') + ')' && r.state === 'S'
        ? r
        : undefined;
    });
    expect(report.wchan).toMatch(/futex/);
    expect(report.threads[0]?.syscall?.split(' ')[0]).toBe('202');
    expect(looksWedged({ state: 'S', cpuPct: 0, queued: 0 })).toBe(true);
  });

  it('a stopped process shows T, and its pending SIGTERM', async () => {
    const c = child('setInterval(() => {}, 1000);', 'ignore');
    const pid = c.pid as number;
    await until(() => (kernelState(pid).state === 'S' ? true : undefined));
    process.kill(pid, 'SIGSTOP');
    await until(() => (kernelState(pid).state === 'T' ? true : undefined));
    process.kill(pid, 'SIGTERM');
    const report = wedgeReport(pid);
    expect(report.status.State).toMatch(/^T/);
    // SIGTERM is signal 15: bit 14 of the shared pending mask.
    expect(BigInt(`0x${report.status.ShdPnd}`) & (1n << 14n)).toBe(1n << 14n);
    expect(looksWedged({ state: 'T', cpuPct: 1, queued: 0 })).toBe(true);
    expect(looksWedged({ state: 'S', cpuPct: 1, queued: 10 })).toBe(false);
  });
});
