import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, levelFromEnv } from '../shared/log.ts';

const now = () => new Date('2025-01-02T03:04:05.000Z');

function capture() {
  const lines: string[] = [];
  return { lines, write: (line: string) => lines.push(line), parsed: () => lines.map((l) => JSON.parse(l)) };
}

describe('POOLPARTY_LOG_LEVEL', () => {
  const saved = process.env.POOLPARTY_LOG_LEVEL;
  afterEach(() => {
    if (saved === undefined) delete process.env.POOLPARTY_LOG_LEVEL;
    else process.env.POOLPARTY_LOG_LEVEL = saved;
  });

  it('takes the six pino levels, in any case', () => {
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) {
      expect(levelFromEnv({ POOLPARTY_LOG_LEVEL: level })).toEqual({ level });
    }
    expect(levelFromEnv({ POOLPARTY_LOG_LEVEL: ' WARN ' })).toEqual({ level: 'warn' });
    expect(levelFromEnv({ POOLPARTY_LOG_LEVEL: '', POOLPARTY_DEBUG: '1' })).toEqual({ level: 'debug' });
    expect(levelFromEnv({})).toEqual({ level: 'info' });
  });

  it('a bad value is said once, in one line naming it, and the level is info', () => {
    process.env.POOLPARTY_LOG_LEVEL = 'verbose-test';
    const out = capture();
    const log = createLogger({}, { write: out.write, now });
    log.debug('dropped');
    log.info('kept');
    createLogger({}, { write: out.write, now }).info('second logger, no second warning');
    const lines = out.parsed();
    expect(lines.map((l) => [l.level, l.msg.includes('"verbose-test"')])).toEqual([
      ['warn', true],
      ['info', false],
      ['info', false],
    ]);
    expect(lines[0].msg).toContain('trace|debug|info|warn|error|fatal');
  });

  it('trace lets debug through; fatal holds back errors', () => {
    const out = capture();
    createLogger({}, { write: out.write, now, level: 'trace' }).debug('shown');
    createLogger({}, { write: out.write, now, level: 'fatal' }).error('hidden');
    expect(out.parsed().map((l) => l.msg)).toEqual(['shown']);
  });
});

describe('log fields', () => {
  it('errors anywhere become {name, message}; bigints strings; a cycle is cut, a repeat is not', () => {
    const out = capture();
    const shared = { id: 'i-1' };
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    createLogger({ base: new RangeError('in a binding') }, { write: out.write, now }).warn('w', {
      nested: { errors: [new Error('deep')], n: 5n },
      a: shared,
      b: shared,
      cyclic,
    });
    const [record] = out.parsed();
    expect(record).toEqual({
      level: 'warn',
      time: '2025-01-02T03:04:05.000Z',
      msg: 'w',
      base: { name: 'RangeError', message: 'in a binding' },
      nested: { errors: [{ name: 'Error', message: 'deep' }], n: '5' },
      a: { id: 'i-1' },
      b: { id: 'i-1' },
      cyclic: { name: 'loop', self: expect.any(String) },
    });
    expect(out.lines[0]).not.toContain('at ');
  });

  it('a message is printed as given, placeholders included', () => {
    const out = capture();
    createLogger({}, { write: out.write, now }).info('100%s done %d', { k: 1 });
    expect(out.parsed()[0].msg).toBe('100%s done %d');
  });
});

describe('synchronous writes', () => {
  /** Runs the fixture: `n` lines, then SIGKILL; resolves with what reached `stdout`. */
  function logThenKill(n: number, stdout: 'pipe' | number, env: NodeJS.ProcessEnv = {}): Promise<string> {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve('test/fixtures/log-then-kill.ts'), String(n)], {
      env: { ...process.env, POOLPARTY_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', stdout, 'inherit'],
    });
    let text = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      text += d;
    });
    return new Promise((res, rej) => {
      child.on('error', rej);
      child.on('close', (_code, signal) => (signal === 'SIGKILL' ? res(text) : rej(new Error(`exited: ${signal}`))));
    });
  }

  // A reader that reads is waited for (shared/log-stdout.ts); one that takes nothing for a second
  // is not: test/log-stdout.test.ts.
  it('a process killed with SIGKILL right after logging has written every line (a pipe fuller than its buffer)', async () => {
    const n = 2000; // about 500 kB: the pipe's 64 kB buffer fills many times over
    const lines = (await logThenKill(n, 'pipe')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(n);
    expect(lines.map((l) => JSON.parse(l).i)).toEqual([...Array(n).keys()]);
  });

  it('under journald every line carries its priority, even the last before SIGKILL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-log-'));
    try {
      const path = join(dir, 'journal');
      const file = await open(path, 'w');
      const st = await file.stat({ bigint: true });
      await logThenKill(3, file.fd, { JOURNAL_STREAM: `${st.dev}:${st.ino}` });
      await file.close();
      const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
      expect(lines.map((l) => l.slice(0, 3))).toEqual(['<6>', '<4>', '<6>']);
      expect(JSON.parse(lines[1]!.slice(3))).toMatchObject({ level: 'warn', component: 'kill-test', i: 1 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
