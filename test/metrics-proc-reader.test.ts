import * as fs from 'node:fs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ProcFs, ProcReader } from '../agent/metrics/proc-reader.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** node:fs with its opens counted. */
function counted(): ProcFs & { opens: number } {
  const c = {
    opens: 0,
    openSync: (p: string, f: 'r') => {
      c.opens++;
      return fs.openSync(p, f);
    },
    readSync: fs.readSync,
    closeSync: fs.closeSync,
    readFileSync: (p: string, e: 'latin1') => fs.readFileSync(p, e),
  };
  return c;
}

describe('ProcReader (metrics /proc reads on kept descriptors)', () => {
  it('opens each file once and reads it anew from the start every time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'poolparty-test-'));
    dirs.push(dir);
    const file = join(dir, 'stat');
    writeFileSync(file, 'cpu  1 2 3 4\nintr 5\n');
    const fsc = counted();
    const r = new ProcReader(fsc);
    expect(r.read(file)).toBe('cpu  1 2 3 4\nintr 5\n');
    writeFileSync(file, 'cpu  9 9 9\n'); // same inode, rewritten shorter: no stale tail
    expect(r.read(file)).toBe('cpu  9 9 9\n');
    expect(fsc.opens).toBe(1);
  });

  it('reads /proc/stat and /proc/meminfo as the whole-file read does, up to the head it keeps', () => {
    const r = new ProcReader();
    for (const path of ['/proc/meminfo', '/proc/stat']) {
      const head = r.read(path).split('\n')[0];
      expect(head).toBe(readFileSync(path, 'latin1').split('\n')[0]);
    }
  });

  it('falls back to a whole read, or an empty string, when the descriptor fails', () => {
    const fsc = counted();
    const r = new ProcReader({
      ...fsc,
      readSync: () => {
        throw new Error('EIO');
      },
    });
    expect(r.read('/proc/meminfo')).toMatch(/^MemTotal:/);
    expect(r.read('/nonexistent/file')).toBe('');
  });
});
