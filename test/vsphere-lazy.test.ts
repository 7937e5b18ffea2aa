import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv } from './fixtures/cli-env.ts';
import { loadedModules } from './helpers/agent-process.ts';

/**
 * The vsphere provider is loaded like ec2's: only when a vsphere cloud's remoter is first asked
 * something. A command that never asks (show) loads none of it; one that does (list) loads the
 * SOAP client and its XML parser. Read from NODE_DEBUG's module log of the built CLI.
 */

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/poolparty.mjs', import.meta.url));
const VSPHERE_CODE = /\/node_modules\/fast-xml-parser\/|vsphere/;

let dir: string;
let config: string;

async function loads(...args: string[]): Promise<{ code: number; stderr: string; vsphere: string[] }> {
  const env = cliEnv(dir, { NODE_DEBUG: 'esm,module', VSPHERE_USER: 'user', VSPHERE_PASSWORD: 'pass' });
  const r = await run(process.execPath, [BIN, ...args], { env, maxBuffer: 256 * 1024 * 1024 }).then(
    (x) => ({ code: 0, ...x }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
  const files = loadedModules(r.stderr).files;
  const last = r.stderr.split('\n').filter((l) => l.startsWith('poolparty:'));
  return { code: r.code, stderr: last.join('\n'), vsphere: files.filter((f) => VSPHERE_CODE.test(f)) };
}

describe('the vsphere provider loads on demand', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-vsphere-lazy-'));
    config = join(dir, 'pool.json');
    const using = {
      provider: 'vsphere',
      // Nothing listens on port 1: list fails to connect, after loading the provider.
      url: 'https://127.0.0.1:1/sdk',
      datacenter: 'DC0',
      folder: 'pp',
      template: 'tpl',
      cluster: 'C0',
    };
    await writeFile(
      config,
      JSON.stringify({ name: 'lazy', clouds: { app: { instances: { min: 1, max: 2 }, using } } }),
    );
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('show loads no vsphere code; list loads it and fails in one line naming the address', async () => {
    const show = await loads('show', '-c', config, '--json');
    expect(show.code).toBe(0);
    expect(show.vsphere).toEqual([]);
    const list = await loads('list', '-c', config);
    expect(list.code).not.toBe(0);
    expect(list.stderr).toMatch(/^poolparty: .*cannot reach vSphere at 127\.0\.0\.1:1: ECONNREFUSED/);
    expect(list.vsphere.some((f) => f.includes('fast-xml-parser'))).toBe(true);
  }, 60_000);
});
