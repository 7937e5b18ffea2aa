import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidateResult } from '../cli/commands/validate.ts';
import { INIT_PROVIDERS, poolNameFrom } from '../cli/init-templates.ts';

/**
 * `poolparty init` (built CLI) in a fresh directory per provider: the starter clouds.ts it writes
 * is what `poolparty validate` (run there without -c) accepts, and an existing one is kept.
 */

const CLI = resolve('bin/poolparty.mjs');
let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'poolparty-init-'));
  // The ssh starter names ~/.ssh/id_ed25519; validate only checks that it is readable.
  await mkdir(join(home, '.ssh'));
  await writeFile(join(home, '.ssh', 'id_ed25519'), 'not a real key\n', { mode: 0o600 });
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

function cli(cwd: string, ...args: string[]) {
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'eu-west-1',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const res = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('poolparty init', () => {
  for (const provider of INIT_PROVIDERS) {
    it(`writes a ${provider} starter that validate accepts`, async () => {
      const dir = join(home, `My Pool ${provider}`);
      await mkdir(dir);
      const init = cli(dir, 'init', '--provider', provider, '--json');
      expect(init.code, init.stderr).toBe(0);
      expect(JSON.parse(init.stdout)).toEqual({
        file: join(dir, 'clouds.ts'),
        provider,
        pool: `my-pool-${provider}`,
      });
      const text = await readFile(join(dir, 'clouds.ts'), 'utf8');
      expect(text).toContain(`import { definePool, ${provider} } from 'poolparty';`);
      const validate = cli(dir, 'validate', '--json');
      expect(validate.code, validate.stdout + validate.stderr).toBe(0);
      const result = JSON.parse(validate.stdout) as ValidateResult;
      expect(result.level).toBe('ok');
    });
  }

  it('keeps an existing clouds.ts unless --force', async () => {
    const dir = join(home, 'kept');
    await mkdir(dir);
    await writeFile(join(dir, 'clouds.ts'), '// mine\n');
    const refused = cli(dir, 'init');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`poolparty: init: ${join(dir, 'clouds.ts')} exists; pass --force to replace it\n`);
    expect(await readFile(join(dir, 'clouds.ts'), 'utf8')).toBe('// mine\n');
    expect(cli(dir, 'init', '--force').code).toBe(0);
    expect(await readFile(join(dir, 'clouds.ts'), 'utf8')).toContain("using: local({ firstAddress: '127.0.0.2' })");
    expect(cli(dir, 'init', '--provider', 'gce').code).toBe(2);
  });

  it('names the pool after the directory', () => {
    expect(poolNameFrom('My Web_App')).toBe('my-web-app');
    expect(poolNameFrom('---')).toBe('my-pool');
    expect(poolNameFrom('a'.repeat(40))).toBe('a'.repeat(32));
  });
});
