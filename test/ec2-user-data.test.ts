import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAgentConfig } from '../agent/config.ts';
import { configureSchema } from '../shared/config/configure-schema.ts';
import type { PoolDefinition } from '../shared/config/schema.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import {
  buildUserData,
  MONITOR_HOST_PLACEHOLDER,
  NODE_PATHS,
  ROOT_PLACEHOLDER,
  type UserDataInput,
} from '../shared/remoter/ec2-user-data.ts';
import { findPackageRoot } from '../shared/remoter/package-root.ts';
import { file } from '../shared/resources/index.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import { ec2Pool, harness, stubAwsEnv } from './ec2-fixtures.ts';
import { startEc2Server } from './ec2-server/server.ts';

const unit = await readFile(join(findPackageRoot(), 'systemd', 'poolparty-agent.service'), 'utf8');
const poolKey = new TextDecoder().decode(generatePoolKey());
const PEERS = ['/ip4/10.0.0.7/tcp/8643/p2p/12D3KooWExamplePeer'];
const BUNDLE_SHA = 'ab'.repeat(32);

function input(pool: PoolDefinition, extra: Partial<UserDataInput> = {}): UserDataInput {
  return { pool, cloud: 'app', poolKey, bootstrap: PEERS, bundleHash: BUNDLE_SHA, unit, ...extra };
}

/** The agent config carried (gzip, base64) inside the script. */
function embeddedConfig(script: string): string {
  const m = /<<'POOLPARTY_CONFIG_EOF'\n([\s\S]*?)\nPOOLPARTY_CONFIG_EOF/.exec(script);
  return gunzipSync(Buffer.from((m?.[1] ?? '').replaceAll('\n', ''), 'base64')).toString('utf8');
}

describe('generated user data', () => {
  const pool = ec2Pool({
    userData: 'echo extra-init > "$POOLPARTY_ROOT/extra-init-ran"',
    agentUrl: 'https://artifacts.example.com/poolparty-agent.mjs',
    agentSha256: 'a'.repeat(64),
  });

  it('is a valid bash script under EC2’s 16 KB limit', () => {
    const script = buildUserData(input(pool));
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(script).toContain('set -euo pipefail');
    const check = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(Buffer.byteLength(script)).toBeLessThan(16 * 1024);
  });

  it('is deterministic (a retried launch must send the same bytes)', () => {
    expect(buildUserData(input(pool))).toBe(buildUserData(input(pool)));
  });

  it('fetches only the configured agent location, verifying its checksum', () => {
    const script = buildUserData(input(pool));
    // Every fetch is either the link-local metadata service or the operator's agentUrl.
    const fetches = script.split('\n').filter((l) => /\b(curl|wget|aws s3)\b/.test(l));
    expect(fetches).toHaveLength(3);
    for (const line of fetches) {
      expect(
        line.includes('"$IMDS/latest/') || line.includes("'https://artifacts.example.com/poolparty-agent.mjs'"),
      ).toBe(true);
    }
    expect(script).toContain(`IMDS="\${POOLPARTY_IMDS:-http://169.254.169.254}"`);
    expect(script).toContain(`echo "${'a'.repeat(64)}  $AGENT.download" | sha256sum -c`);
    const baked = buildUserData(input(ec2Pool({})));
    expect(baked).not.toMatch(/curl -fsSL|aws s3 cp/);
  });

  it('refuses a credential hidden anywhere in the pool definition', () => {
    const leaky = ec2Pool({});
    (leaky.clouds.app as { metrics: unknown }).metrics = {
      queue: { kind: 'command', command: 'AWS_SECRET_ACCESS_KEY=x aws sqs …', every: 5000, timeout: 2000 },
    };
    expect(() => buildUserData(input(leaky))).toThrow(/refusing to put aws_secret_access_key into user data/);
  });

  it('refuses a bundle hash that is not a sha256 digest', () => {
    expect(() => buildUserData(input(ec2Pool({}), { bundleHash: 'sha256-abc' }))).toThrow(
      /invalid bundle hash "sha256-abc": expected a sha256 hex digest/,
    );
  });

  it("carries no cloud's configuration: a large resource does not count against the 16 KB", () => {
    const pool = ec2Pool({});
    const content = randomBytes(20_000).toString('hex');
    (pool.clouds.app as { configure: unknown }).configure = configureSchema.parse({
      resources: [file('/srv/big.txt', { content })],
      resolver: ['itamae'],
    });
    const script = buildUserData(input(pool));
    const config = JSON.parse(embeddedConfig(script)) as AgentConfig;
    expect(config.scaling?.definition.clouds.app?.configure.resources).toEqual([]);
    expect(script).not.toContain(content.slice(0, 64));
  });

  it('refuses user data over 16 KB with a clear error', () => {
    const big = ec2Pool({});
    (big.clouds.app?.using as unknown as { userData: string }).userData = `# ${randomBytes(9000).toString('hex')}`;
    expect(() => buildUserData(input(big))).toThrow(/user data is \d+ bytes, EC2 allows 16384/);
  });

  it('runs: writes key, config and env, runs the extra init, installs and starts the unit', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pp-ud-'));
    try {
      const bin = join(root, 'stub-bin');
      await mkdir(bin);
      // Stand-ins for IMDSv2 and the download (curl), and for systemd: they only record their calls.
      await writeFile(
        join(bin, 'curl'),
        `#!/bin/bash
case "$*" in
  *api/token*) echo -n token123 ;;
  *meta-data/instance-id*) echo -n i-0123456789abcdef0 ;;
  *meta-data/local-ipv4*) echo -n 10.1.2.3 ;;
  *) out=""; while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done; echo 'agent' > "$out" ;;
esac
`,
      );
      await writeFile(join(bin, 'sha256sum'), '#!/bin/bash\ncat > /dev/null\n');
      await writeFile(join(bin, 'systemctl'), `#!/bin/bash\necho "$*" >> "${root}/systemctl.log"\n`);
      for (const f of ['curl', 'sha256sum', 'systemctl']) await chmod(join(bin, f), 0o755);

      const script = buildUserData(input(pool));
      const run = spawnSync('bash', ['-s'], {
        input: script,
        encoding: 'utf8',
        env: { PATH: `${bin}:${process.env.PATH}`, POOLPARTY_ROOT: root, HOME: root },
        timeout: 30_000,
      });
      expect(run.stderr).toContain('agent started as i-0123456789abcdef0 (10.1.2.3)');
      expect(run.status).toBe(0);

      const keyFile = join(root, 'etc/poolparty/pool.key');
      expect(await readFile(keyFile, 'utf8')).toBe(`${poolKey}\n`);
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const config = parseAgentConfig(JSON.parse(await readFile(join(root, 'etc/poolparty/agent.json'), 'utf8')));
      // Under a root every node path lands inside it, and the monitor binds the node's own address.
      expect(config).toMatchObject({
        pool: 'web',
        cloud: 'app',
        instanceId: 'i-0123456789abcdef0',
        poolKeyFile: `${root}/etc/poolparty/pool.key`,
        dataDir: `${root}/var/lib/poolparty`,
        listen: ['/ip4/10.1.2.3/tcp/8643'],
        bootstrap: PEERS,
        monitor: { host: '10.1.2.3', port: 8642, url: 'http://10.1.2.3:8642' },
      });
      expect(config.scaling).toMatchObject({ min: 2, max: 10, stateDir: `${root}/var/lib/poolparty` });
      expect(JSON.stringify(config)).not.toContain('@@');
      expect(config.bundle).toEqual({ sha256: BUNDLE_SHA });
      expect(await readFile(join(root, 'etc/poolparty/agent.env'), 'utf8')).toBe(
        'POOLPARTY_AGENT_CONFIG=/etc/poolparty/agent.json\n',
      );
      expect(await readFile(join(root, 'extra-init-ran'), 'utf8')).toBe('extra-init\n');
      expect(await readFile(join(root, 'opt/poolparty/poolparty-agent.mjs'), 'utf8')).toBe('agent\n');
      expect(await readFile(join(root, 'etc/systemd/system/poolparty-agent.service'), 'utf8')).toBe(
        `${unit.trimEnd()}\n`,
      );
      expect(await readFile(join(root, 'systemctl.log'), 'utf8')).toBe(
        'daemon-reload\nenable --now poolparty-agent.service\n',
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

/**
 * The boot-time substitution of the script (from `gzip -dc` to the redirect into agent.json), run
 * on `config` with the given root: what a node writes as its agent.json, without writing /etc.
 */
function substitute(script: string, config: string, root: string): string {
  const lines = script.split('\n');
  const start = lines.findIndex((l) => l.startsWith('gzip -dc '));
  const end = lines.findIndex((l, i) => i > start && l.endsWith('> "$R/etc/poolparty/agent.json"'));
  const pipeline = lines
    .slice(start, end + 1)
    .join('\n')
    .replace(/^gzip -dc "\$R\/etc\/poolparty\/agent\.json\.gz" \|/, 'printf "%s" "$CONFIG" |')
    .replace(/ > "\$R\/etc\/poolparty\/agent\.json"$/, '');
  const monitorHost = lines.filter((l) => /^(MONITOR_HOST=|\[\[ -z \$R \]\] \|\| MONITOR_HOST=)/.test(l));
  const run = spawnSync(
    'bash',
    ['-euo', 'pipefail', '-c', ['PRIVATE_IP=10.1.2.3', ...monitorHost, pipeline].join('\n')],
    {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, R: root, CONFIG: config, INSTANCE_ID: 'i-0123456789abcdef0' },
    },
  );
  if (run.status !== 0) throw new Error(`substitution failed: ${run.stderr}`);
  return run.stdout;
}

describe('node paths under POOLPARTY_ROOT', () => {
  const pool = ec2Pool({});
  const script = buildUserData(input(pool));
  const embedded = embeddedConfig(script);

  it('marks every node path of the agent config with the root placeholder', () => {
    const config = JSON.parse(embedded) as AgentConfig;
    expect(config.poolKeyFile).toBe(`${ROOT_PLACEHOLDER}${NODE_PATHS.poolKey}`);
    expect(config.dataDir).toBe(`${ROOT_PLACEHOLDER}${NODE_PATHS.dataDir}`);
    expect(config.scaling?.stateDir).toBe(`${ROOT_PLACEHOLDER}${NODE_PATHS.stateDir}`);
    expect(config.monitor.host).toBe(MONITOR_HOST_PLACEHOLDER);
  });

  it('on a real node (no root) writes exactly the system paths and a wildcard monitor', () => {
    const config = parseAgentConfig(JSON.parse(substitute(script, embedded, '')));
    expect(config).toMatchObject({
      instanceId: 'i-0123456789abcdef0',
      poolKeyFile: '/etc/poolparty/pool.key',
      dataDir: '/var/lib/poolparty',
      monitor: { host: '0.0.0.0', port: 8642, url: 'http://10.1.2.3:8642' },
    });
    expect(config.scaling?.stateDir).toBe('/var/lib/poolparty');
    expect(substitute(script, embedded, '')).not.toContain('@@');
  });

  it('under a root moves the paths there and binds the monitor to the node address', () => {
    const config = parseAgentConfig(JSON.parse(substitute(script, embedded, '/tmp/node-7')));
    expect(config).toMatchObject({
      poolKeyFile: '/tmp/node-7/etc/poolparty/pool.key',
      dataDir: '/tmp/node-7/var/lib/poolparty',
      monitor: { host: '10.1.2.3' },
    });
  });

  it('keeps a monitor host that is not a wildcard, root or not', () => {
    const local = ec2Pool({});
    (local.clouds.app as { monitor: { host: string } }).monitor.host = '127.0.0.1';
    const s = buildUserData(input(local));
    expect(embeddedConfig(s)).not.toContain(MONITOR_HOST_PLACEHOLDER);
    expect(JSON.parse(substitute(s, embeddedConfig(s), '/tmp/node-7')).monitor.host).toBe('127.0.0.1');
  });

  it('refuses a root that is not a plain absolute path', () => {
    for (const root of ['relative/dir', '/tmp/has space', '/tmp/a|b', '/tmp/x/']) {
      const run = spawnSync('bash', ['-s'], {
        input: script,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, POOLPARTY_ROOT: root, POOLPARTY_IMDS: 'http://127.0.0.1:9' },
        timeout: 10_000,
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('POOLPARTY_ROOT must be an absolute path');
    }
  });
});

describe('no AWS credentials in what a launch sends', () => {
  const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const SESSION = 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN';
  beforeAll(() =>
    stubAwsEnv({
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: SESSION,
    }),
  );
  afterAll(() => vi.unstubAllEnvs());

  it('even when the laptop env holds AWS credentials', async () => {
    const server = await startEc2Server();
    const h = await harness();
    try {
      const remoter = h.remoter(server.endpoint);
      await remoter.launch({ cloud: 'app', count: 1, clientToken: 'leak-check' });
      const params = server.callsOf('RunInstances')[0]?.params ?? {};
      const userData = Buffer.from(String(params.UserData), 'base64').toString('utf8');
      const everything = [JSON.stringify(params), userData, embeddedConfig(userData)].join('\n');
      for (const needle of ['AKIAIOSFODNN7EXAMPLE', SECRET, SESSION, 'aws_secret_access_key', 'aws_session_token']) {
        expect(everything.toLowerCase()).not.toContain(needle.toLowerCase());
      }
      expect(embeddedConfig(userData)).toContain('"instanceId": "@@POOLPARTY_INSTANCE_ID@@"');
    } finally {
      await h.cleanup();
      await server.close();
    }
  });
});
