import { spawnSync } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, isJournalStream } from '../shared/log.ts';

function capture() {
  const lines: string[] = [];
  return { lines, write: (line: string) => lines.push(line) };
}

describe('createLogger (shared/log.ts)', () => {
  const now = () => new Date('2025-01-02T03:04:05.000Z');

  it('writes one JSON object per line with base, child and call fields', () => {
    const out = capture();
    const log = createLogger({ component: 'cli' }, { write: out.write, now });
    log.info('started', { port: 8642 });
    log.child({ instance: 'local-1' }).warn('slow', { ms: 12 });
    expect(out.lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    expect(out.lines.map((l) => JSON.parse(l))).toEqual([
      { time: '2025-01-02T03:04:05.000Z', level: 'info', msg: 'started', component: 'cli', port: 8642 },
      { time: '2025-01-02T03:04:05.000Z', level: 'warn', msg: 'slow', component: 'cli', instance: 'local-1', ms: 12 },
    ]);
  });

  it('drops lines below the level and serialises errors without stacks', () => {
    const out = capture();
    const log = createLogger({}, { write: out.write, now, level: 'warn' });
    log.debug('hidden');
    log.info('hidden');
    log.error('failed', { err: new TypeError('bad\nthing'), big: 10n });
    expect(out.lines).toHaveLength(1);
    const record = JSON.parse(out.lines[0]!);
    expect(record.err).toEqual({ name: 'TypeError', message: 'bad\nthing' });
    expect(record.big).toBe('10');
    expect(out.lines[0]).not.toContain('at ');
  });
});

describe('journald priority prefix', () => {
  const now = () => new Date('2025-01-02T03:04:05.000Z');

  it('starts each line with its syslog priority, children included', () => {
    const out = capture();
    const log = createLogger({}, { write: out.write, now, level: 'debug', journald: true });
    log.debug('d');
    log.info('i');
    log.child({ c: 1 }).warn('w');
    log.error('e');
    expect(out.lines.map((l) => l.slice(0, 3))).toEqual(['<7>', '<6>', '<4>', '<3>']);
    expect(JSON.parse(out.lines[2]!.slice(3))).toEqual({
      time: '2025-01-02T03:04:05.000Z',
      level: 'warn',
      msg: 'w',
      c: 1,
    });
  });

  it('counts stdout as the journal only when JOURNAL_STREAM names its device and inode', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-log-'));
    try {
      const file = await open(join(dir, 'out'), 'w');
      const st = await file.stat({ bigint: true });
      expect(isJournalStream(file.fd, { JOURNAL_STREAM: `${st.dev}:${st.ino}` })).toBe(true);
      expect(isJournalStream(file.fd, { JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` })).toBe(false);
      expect(isJournalStream(file.fd, {})).toBe(false);
      await file.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the agent prefixes its lines when its stdout is the journal stream, and not otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-log-'));
    try {
      const run = async (journal: boolean) => {
        const path = join(dir, `stdout-${journal}`);
        const file = await open(path, 'w');
        const st = await file.stat({ bigint: true });
        const env = { ...process.env, JOURNAL_STREAM: journal ? `${st.dev}:${st.ino}` : '1:1' };
        const res = spawnSync(process.execPath, ['bin/poolparty-agent.mjs', '--config', join(dir, 'missing.json')], {
          env,
          stdio: ['ignore', file.fd, 'pipe'],
        });
        await file.close();
        expect(res.status).toBe(2);
        return (await readFile(path, 'utf8')).trim();
      };
      const journaled = await run(true);
      expect(journaled.startsWith('<3>{')).toBe(true);
      expect(JSON.parse(journaled.slice(3))).toMatchObject({
        level: 'error',
        msg: 'config-invalid',
        component: 'agent',
      });
      expect(JSON.parse(await run(false))).toMatchObject({ level: 'error', msg: 'config-invalid' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('log level from the environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env.POOLPARTY_LOG_LEVEL = saved.POOLPARTY_LOG_LEVEL;
    process.env.POOLPARTY_DEBUG = saved.POOLPARTY_DEBUG;
    if (saved.POOLPARTY_LOG_LEVEL === undefined) delete process.env.POOLPARTY_LOG_LEVEL;
    if (saved.POOLPARTY_DEBUG === undefined) delete process.env.POOLPARTY_DEBUG;
  });

  it('POOLPARTY_DEBUG=1 turns debug lines on; POOLPARTY_LOG_LEVEL wins over it', () => {
    delete process.env.POOLPARTY_LOG_LEVEL;
    process.env.POOLPARTY_DEBUG = '1';
    const out = capture();
    createLogger({}, { write: out.write }).debug('shown');
    process.env.POOLPARTY_LOG_LEVEL = 'warn';
    createLogger({}, { write: out.write }).info('hidden');
    expect(out.lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
  });
});
