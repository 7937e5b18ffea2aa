import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../shared/version.ts';
import { freePort } from './fixtures/sshd.ts';
import { loadedModules } from './helpers/agent-process.ts';

/**
 * "Load only what the command needs": the command table (names, options, help) loads without
 * any handler's dependencies, and a handler loads only its own. Runs the CLI as users run it
 * (bin/poolparty.mjs → dist/, which test/global-setup.ts builds) and reads which files Node
 * loaded from NODE_DEBUG's module log.
 */

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/poolparty.mjs', import.meta.url));
/** Packages no start-up needs: the AWS SDK, ssh2, libp2p and its parts, zod, the config loader. */
const HEAVY = /\/node_modules\/(@aws-sdk|@smithy|ssh2|libp2p|@libp2p|@chainsafe|zod|jiti)\//;

interface Loaded {
  code: number;
  stdout: string;
  heavy: string[];
  packages: string[];
}

async function cliLoads(...args: string[]): Promise<Loaded> {
  const env = {
    ...process.env,
    NODE_DEBUG: 'esm,module',
    POOLPARTY_STATE_DIR: join(tmpdir(), 'poolparty-startup-state'),
  };
  const { code, stdout, stderr } = await run(process.execPath, [BIN, ...args], {
    env,
    maxBuffer: 256 * 1024 * 1024,
  }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
  const files = loadedModules(stderr).files;
  const packages = [...new Set(files.flatMap((f) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1] ?? []))];
  return { code, stdout, heavy: files.filter((f) => HEAVY.test(f)), packages: packages.sort() };
}

describe('CLI start-up loads only what the command needs', () => {
  it('--version loads no package at all', async () => {
    const r = await cliLoads('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
    expect(r.packages).toEqual([]);
  }, 60_000);

  it('--help and a command --help load no heavy package', async () => {
    const top = await cliLoads('--help');
    expect(top.stdout).toContain('Commands:');
    expect(top.heavy).toEqual([]);
    const status = await cliLoads('configure', '--help');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('--max-unavailable N');
    expect(status.heavy).toEqual([]);
  }, 60_000);

  it('status --node against a monitor that refuses loads no provider, libp2p or config loader', async () => {
    const r = await cliLoads('status', '--node', `http://127.0.0.1:${await freePort('127.0.0.1')}`, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.name).toBe('MonitorError');
    expect(r.heavy).toEqual([]);
  }, 60_000);

  it('show on a pool of ec2 and ssh clouds loads neither provider: nothing asks them anything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-startup-'));
    try {
      const config = join(dir, 'pool.json');
      await writeFile(config, JSON.stringify(TWO_PROVIDERS));
      const r = await cliLoads('show', '-c', config, '--json');
      expect(r.code).toBe(0);
      expect(Object.keys(JSON.parse(r.stdout).definition.clouds)).toEqual(['app', 'hosts']);
      // The definition needs the config loader; nothing else heavy.
      expect(r.packages).toContain('zod');
      expect(r.heavy.filter((f) => !/\/node_modules\/(zod|jiti)\//.test(f))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

const TWO_PROVIDERS = {
  name: 'lazy',
  clouds: {
    app: {
      instances: { min: 1, max: 2 },
      using: {
        provider: 'ec2',
        region: 'us-east-1',
        imageId: 'ami-0123456789abcdef0',
        instanceType: 't3.small',
        subnetIds: ['subnet-0aaaaaaaaaaaaaaaa'],
        securityGroupIds: ['sg-0123456789abcdef0'],
      },
    },
    hosts: { instances: { min: 1, max: 1 }, using: { provider: 'ssh', hosts: ['127.0.0.1'] } },
  },
};
