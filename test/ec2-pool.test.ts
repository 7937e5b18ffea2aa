import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../agent/config.ts';
import { findCredential } from '../shared/remoter/ec2-credentials.ts';
import type { ClusterView, ScalingDecision } from '../shared/wire/cluster.ts';
import type { FakeInstance } from './ec2-server/model.ts';
import type { FakeEc2Server } from './ec2-server/server.ts';
import { fakeAwsEnv } from './fixtures/cli-env.ts';
import { Ec2AgentPool } from './fixtures/ec2-agent-pool.ts';
import type { Ec2Machines } from './fixtures/ec2-instances.ts';
import { oneCloudPool, queueDrivenFields } from './fixtures/pool-source.ts';
import { quickScaling } from './fixtures/quick-scaling.ts';
import { runCli } from './fixtures/run-cli.ts';
import { decisionsOf, waitForHeldAtBound } from './fixtures/scaling-watch.ts';
import { waitFor } from './fixtures/wait.ts';

/**
 * A pool on the ec2 remoter base scaling itself for real: the CLI bootstraps the first instance
 * through the AWS SDK against the wire-level EC2 server; every instance "boots" by running its
 * real user data and then the real agent (test/fixtures/ec2-instances.ts); the elected leader
 * expands with RunInstances and contracts with TerminateInstances, driven by a file metric.
 * The count of live instances is taken from the server's model at every launch.
 */

const CLI = resolve('bin/poolparty.mjs');
const MIN = 1;
const MAX = 3;
// What an instance profile would hand the leader: distinctive, so a leak into user data shows.
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

let pool: Ec2AgentPool | undefined;
let dir: string;
let config: string;
let queueFile: string;
let server: FakeEc2Server | undefined;
let machines: Ec2Machines | undefined;
let cliEnv: NodeJS.ProcessEnv;
/** The most instances not asked to terminate, seen at any launch. */
let maxLive = 0;

function live(): FakeInstance[] {
  return pool?.live() ?? [];
}

async function json<T>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return (await r.json()) as T;
}

function monitorOf(inst: FakeInstance, port: number): string {
  return `http://${inst.privateIp}:${port}`;
}

/** Every live instance has a running agent whose monitor sees exactly the live instances alive. */
function converged(n: number): Promise<boolean> {
  return pool ? pool.converged(n) : Promise.resolve(false);
}

/** Decisions every live node recorded (leadership may have moved), oldest first. */
function decisions(port: number): Promise<ScalingDecision[]> {
  return decisionsOf(live().map((i) => monitorOf(i, port)));
}

function userDataOf(params: Record<string, unknown>): string {
  return Buffer.from(String(params.UserData), 'base64').toString('utf8');
}

function embeddedConfig(userData: string): string {
  const m = /<<'POOLPARTY_CONFIG_EOF'\n([\s\S]*?)\nPOOLPARTY_CONFIG_EOF/.exec(userData);
  if (!m?.[1]) throw new Error('no agent config in user data');
  return gunzipSync(Buffer.from(m[1].replaceAll('\n', ''), 'base64')).toString('utf8');
}

function tagsOf(params: Record<string, unknown>): Record<string, string> {
  const specs = (params.TagSpecification ?? []) as { ResourceType?: string; Tag?: { Key: string; Value: string }[] }[];
  const instance = specs.find((s) => s.ResourceType === 'instance');
  return Object.fromEntries((instance?.Tag ?? []).map((t) => [t.Key, t.Value]));
}

describe('a pool of real agents on the ec2 remoter base (wire-level EC2, loopback machines)', () => {
  let monitorPort: number;
  const monitors = () => live().map((i) => monitorOf(i, monitorPort));
  let p2pPort: number;
  let firstIp: string;

  beforeAll(async () => {
    // Nothing may reach for 169.254.169.254 or the developer's AWS files.
    const aws = fakeAwsEnv({ keyId: KEY_ID, secret: SECRET });
    // The image bakes in the single-file artifact: a leader running it has no package on disk, so
    // everything it hands a new instance (the systemd unit) must travel inside it.
    pool = await Ec2AgentPool.start({
      name: 'ec2-pool',
      aws,
      onLaunch: () => {
        maxLive = Math.max(maxLive, live().length);
      },
    });
    ({ dir, server, machines, monitorPort, p2pPort, cliEnv } = pool);
    config = join(dir, 'clouds.ts');
    queueFile = join(dir, 'queue');
    await writeFile(queueFile, '0\n');
    await writeFile(
      config,
      oneCloudPool({
        name: 'ec2pool',
        provider: 'ec2',
        using: JSON.stringify(pool.ec2Options),
        min: MIN,
        max: MAX,
        fields: [`monitor: { port: ${monitorPort} }`, ...queueDrivenFields(queueFile, quickScaling())],
      }),
    );
  }, 90_000);

  afterAll(() => pool?.close(), 30_000);

  it('bootstrap launches one instance that boots from its user data, under its own root', async () => {
    const boot = await runCli([CLI, 'bootstrap', '-c', config, '--timeout', '30s', '--json'], cliEnv);
    expect(boot.code, boot.stderr).toBe(0);
    expect(server?.callsOf('RunInstances').map((c) => c.params.ClientToken)).toEqual(['bootstrap-ec2pool-app-0']);
    const [first] = live();
    if (!first) throw new Error('no instance launched');
    firstIp = first.privateIp;
    const machine = machines?.machines.get(first.instanceId);
    await machine?.booted;
    expect(machine?.bootError).toBeUndefined();
    expect(await machine?.systemctl()).toEqual(['daemon-reload', 'enable --now poolparty-agent.service']);

    const root = machine?.root as string;
    const agentConfig = parseAgentConfig(JSON.parse(await readFile(join(root, 'etc/poolparty/agent.json'), 'utf8')));
    expect(agentConfig).toMatchObject({
      instanceId: first.instanceId,
      poolKeyFile: `${root}/etc/poolparty/pool.key`,
      dataDir: `${root}/var/lib/poolparty`,
      monitor: { host: first.privateIp, port: monitorPort, url: monitorOf(first, monitorPort) },
    });
    expect(agentConfig.scaling?.stateDir).toBe(`${root}/var/lib/poolparty`);
    // The laptop's pool key is the one the node got (the heredoc adds a final newline).
    expect((await readFile(join(root, 'etc/poolparty/pool.key'), 'utf8')).trim()).toBe(
      (await readFile(join(dir, 'laptop', 'pool.key'), 'utf8')).trim(),
    );
    // Alone, it claims leadership of the pool.
    await waitFor(
      'the first node to lead',
      async () => (await json<ClusterView>(`${monitorOf(first, monitorPort)}/cluster`)).leader !== null,
      { timeoutMs: 15_000 },
    );
  });

  it('expands through RunInstances to max under load; new nodes join gossip; never above max', async () => {
    const loaded = Date.now();
    await writeFile(queueFile, '50\n');
    await waitFor(`${MAX} instances alive everywhere`, () => converged(MAX), {
      timeoutMs: 40_000,
      everyMs: 200,
    });
    // Load stays high while the leader evaluates it again and again: it must hold at max.
    await waitForHeldAtBound(monitors, 'expand', { since: loaded });
    expect(live()).toHaveLength(MAX);
    expect(maxLive).toBe(MAX);
    for (const m of machines?.machines.values() ?? []) expect(m.bootError).toBeUndefined();

    const runs = server?.callsOf('RunInstances').filter((c) => !c.error) ?? [];
    const byLeader = runs.slice(1);
    expect(byLeader).toHaveLength(MAX - MIN);
    for (const run of byLeader) {
      expect(run.params.MinCount).toBe('1');
      expect(run.params.MaxCount).toBe('1');
      const tags = tagsOf(run.params);
      expect(tags).toMatchObject({ 'poolparty:pool': 'ec2pool', 'poolparty:cloud': 'app' });
      expect(tags['poolparty:token']).toBe(run.params.ClientToken);
      expect(Number(tags['poolparty:term'])).toBeGreaterThanOrEqual(1);
      expect(Number(tags['poolparty:action'])).toBeGreaterThanOrEqual(1);
      // A new node is told where the pool is: the first instance's p2p address.
      expect(JSON.parse(embeddedConfig(userDataOf(run.params))).bootstrap).toContain(`/ip4/${firstIp}/tcp/${p2pPort}`);
    }
    const tokens = byLeader.map((r) => r.params.ClientToken);
    expect(new Set(tokens).size).toBe(tokens.length);
    const d = await decisions(monitorPort);
    expect(d.filter((x) => x.action === 'expand' && x.result === 'ok').length).toBeGreaterThanOrEqual(MAX - MIN);
    expect(d.some((x) => x.blocked === 'at-max')).toBe(true);
  });

  it('contracts through TerminateInstances to min when the load drops; terminated agents are stopped', async () => {
    const unloaded = Date.now();
    await writeFile(queueFile, '0\n');
    await waitFor(`back to ${MIN} alive`, () => converged(MIN), { timeoutMs: 40_000, everyMs: 200 });
    await waitForHeldAtBound(monitors, 'contract', { since: unloaded });
    expect(live()).toHaveLength(MIN);
    const terminated = (server?.callsOf('TerminateInstances') ?? []).filter((c) => !c.error);
    expect(terminated.length).toBeGreaterThanOrEqual(MAX - MIN);
    const gone = [...(server?.model.instances.values() ?? [])].filter((i) => i.terminateRequestedAt !== undefined);
    expect(gone).toHaveLength(MAX - MIN);
    for (const inst of gone) {
      const agent = machines?.machines.get(inst.instanceId)?.agent;
      await waitFor(`${inst.instanceId}'s agent to stop`, () => agent?.exitCode !== null || agent?.signalCode !== null);
    }
    expect(machines?.running()).toHaveLength(MIN);
    const d = await decisions(monitorPort);
    expect(d.filter((x) => x.action === 'contract' && x.result === 'ok').length).toBeGreaterThanOrEqual(MAX - MIN);
    expect(maxLive).toBeLessThanOrEqual(MAX);
  });

  it('sent no AWS credential in any user data, though every leader held them', () => {
    const runs = server?.callsOf('RunInstances') ?? [];
    expect(runs.length).toBeGreaterThanOrEqual(MAX);
    for (const run of runs) {
      const userData = userDataOf(run.params);
      const everything = [JSON.stringify(run.params), userData, embeddedConfig(userData)].join('\n');
      expect(findCredential(everything)).toBeUndefined();
      expect(everything).not.toContain(SECRET);
      expect(everything).not.toContain(KEY_ID);
    }
  });
});
