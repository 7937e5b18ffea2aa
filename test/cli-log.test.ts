import { describe, expect, it } from 'vitest';
import { createLogger } from '../shared/log.ts';

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
