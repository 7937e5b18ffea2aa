import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFile } from '../cli/config-file.ts';

describe('which pool definition a command reads', () => {
  let dir: string;
  let empty: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-config-file-'));
    empty = await mkdtemp(join(tmpdir(), 'poolparty-config-empty-'));
    await writeFile(join(dir, 'clouds.json'), '{}');
    await writeFile(join(dir, 'clouds.ts'), 'export default {}');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(empty, { recursive: true, force: true });
  });

  it('-c first, then $POOLPARTY_CONFIG, then ./clouds.ts (before clouds.json)', () => {
    expect(configFile({ config: 'a.ts' }, 'list', { POOLPARTY_CONFIG: 'b.ts' }, dir)).toBe('a.ts');
    expect(configFile({}, 'list', { POOLPARTY_CONFIG: 'b.ts' }, dir)).toBe('b.ts');
    expect(configFile({}, 'list', {}, dir)).toBe(join(dir, 'clouds.ts'));
  });

  it('names all three places when none gives a file', () => {
    expect(() => configFile({}, 'plan', {}, empty)).toThrow(
      `plan: no pool definition: give -c FILE, set POOLPARTY_CONFIG, or run it in a directory with clouds.ts (${empty} has none)`,
    );
  });
});
