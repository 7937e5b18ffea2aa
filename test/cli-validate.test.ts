import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidateResult } from '../cli/commands/validate.ts';
import { runCli } from './fixtures/run-cli.ts';

/** `poolparty validate` (built CLI) on definitions written to a temp dir: exit codes, lines, --json. */

const CLI = resolve('bin/poolparty.mjs');
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-validate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A clouds.ts whose one cloud 'web' has the given fields after `using`. */
async function definition(fields: string): Promise<string> {
  const path = join(dir, `clouds-${++n}.ts`);
  await writeFile(
    path,
    `import { definePool, local } from 'poolparty';
export default definePool({
  name: 'val',
  clouds: { web: { ${fields} } },
});
`,
  );
  return path;
}

const validate = (file: string, ...args: string[]) =>
  runCli([CLI, 'validate', '-c', file, ...args], { PATH: process.env.PATH, HOME: dir });

describe('poolparty validate', () => {
  it('passes a sound definition with exit 0, one line per check', async () => {
    const file = await definition(
      `instances: { min: 1, max: 3 }, using: local(), scaling: { expandWhen: 'load > 0.8 for 30s', contractWhen: 'load < 0.2 for 2m' },`,
    );
    const res = await validate(file);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.split('\n')).toEqual([
      "ok     schema: pool 'val' is well-formed",
      'ok     web: instances: min 1 ≤ max 3',
      'ok     web: rules: expandWhen reads load (built-in)',
      'ok     web: rules: contractWhen reads load (built-in)',
      'ok     web: resolver: nothing to configure: no bundle is built',
      '',
      `${file}: valid (0 error(s), 0 warning(s))`,
      '',
    ]);
  });

  it('lists every schema problem as an error and exits 2, in --json too', async () => {
    const file = await definition(`instancez: { min: 1, max: 3 }, using: local({ firstAdress: '127.0.0.2' }),`);
    const res = await validate(file, '--json');
    expect(res.code).toBe(2);
    const result = JSON.parse(res.stdout) as ValidateResult;
    expect(result.valid).toBe(false);
    expect(result.checks.every((c) => c.check === 'schema' && c.level === 'error')).toBe(true);
    const messages = result.checks.map((c) => c.message).join('\n');
    expect(messages).toContain("did you mean 'instances'");
    expect(messages).toContain("did you mean 'firstAddress'");
  });

  it('reports a single problem as one error check; an unknown --cloud is a usage error', async () => {
    const file = await definition(`instances: { min: 3, max: 1 }, using: local(),`);
    const res = await validate(file, '--json');
    expect(res.code).toBe(2);
    expect((JSON.parse(res.stdout) as ValidateResult).checks).toEqual([
      { check: 'schema', level: 'error', message: 'clouds.web.instances: min (3) is greater than max (1)' },
    ]);
    const sound = await definition(`instances: { min: 1, max: 2 }, using: local(),`);
    const cloud = await validate(sound, '--cloud', 'db');
    expect(cloud.code).toBe(2);
    expect(cloud.stderr).toBe("poolparty: pool 'val' has no cloud 'db' (clouds: web)\n");
  });

  it('warns without failing: rules that overlap, on a cloud that cannot scale', async () => {
    const file = await definition(
      `instances: { min: 2, max: 2 }, using: local(), scaling: { expandWhen: 'load > 0.5', contractWhen: 'load < 0.7' },`,
    );
    const res = await validate(file);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('warn   web: instances: min equals max (2)');
    expect(res.stdout).toContain(
      'warn   web: rules: load between 0.5 and 0.7 satisfies both expandWhen and contractWhen',
    );
    expect(res.stdout).toContain('valid (0 error(s), 2 warning(s))');
  });

  it('fails a local cloud whose resolver this machine lacks (PATH without it)', async () => {
    const file = await definition(
      `instances: { min: 1, max: 2 }, using: local(), runList: ['recipe[base]'], resolver: 'puppet',`,
    );
    const res = await runCli([CLI, 'validate', '-c', file], { PATH: dir, HOME: dir });
    expect(res.code).toBe(2);
    expect(res.stdout).toContain('error  web: resolver: none of puppet is on PATH');
  });
});
