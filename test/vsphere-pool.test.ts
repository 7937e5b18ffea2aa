import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text } from '../shared/remoter/vsphere-xml.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { cliEnv as cliEnvIn } from './fixtures/cli-env.ts';
import { Ec2Machines } from './fixtures/ec2-instances.ts';
import { oneCloudPool, queueDrivenFields } from './fixtures/pool-source.ts';
import { randomLoopbackBase } from './fixtures/procs.ts';
import { quickScaling } from './fixtures/quick-scaling.ts';
import { runCli } from './fixtures/run-cli.ts';
import { decisionsOf, waitForHeldAtBound } from './fixtures/scaling-watch.ts';
import { freePort } from './fixtures/sshd.ts';
import { waitFor } from './fixtures/wait.ts';
import { SimGuests } from './vsphere-sim/guests.ts';
import { type Simulator, startSimulator } from './vsphere-sim/sim.ts';

/**
 * A pool on the vsphere remoter base scaling itself for real against govmomi's simulator: the CLI
 * bootstraps the first VM (clone + power on); every powered-on VM "boots" by running the user data
 * its guestinfo carries and then the real agent (test/vsphere-sim/guests.ts, reusing the EC2 test
 * machines); the elected leader expands with CloneVM_Task and contracts with power off + Destroy_Task,
 * driven by a file metric. Then list, status, plan and terminate on the vsphere cloud.
 */

const CLI = resolve('bin/poolparty.mjs');
const execAsync = promisify(execFile);
const MIN = 1;
const MAX = 3;
const FOLDER = 'DC0/vm/pools/vpool';

let dir: string;
let config: string;
let queueFile: string;
let sim: Simulator | undefined;
let machines: Ec2Machines | undefined;
let guests: SimGuests | undefined;
let cliEnv: NodeJS.ProcessEnv;
let monitorPort: number;

async function json<T>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return (await r.json()) as T;
}

/** The pool's VMs as another vCenter session sees them: name → power state. */
async function vms(): Promise<Map<string, string>> {
  const c = sim?.client();
  const folder = await c?.findByInventoryPath(FOLDER);
  if (!c || !folder) return new Map();
  const found = await c.retrieve(folder, 'VirtualMachine', ['name', 'runtime.powerState'], 100);
  return new Map(found.map((o) => [text(o.props.get('name')) ?? '', text(o.props.get('runtime.powerState')) ?? '']));
}

const monitors = () =>
  [...(machines?.machines.values() ?? [])]
    .filter((m) => !m.terminated)
    .map((m) => `http://${m.privateIp}:${monitorPort}`);

/** Every powered-on VM runs an agent whose monitor sees exactly those VMs alive. */
async function converged(n: number): Promise<boolean> {
  const on = [...(await vms()).entries()]
    .filter(([, p]) => p === 'poweredOn')
    .map(([name]) => name)
    .sort();
  if (on.length !== n || (machines?.running().length ?? 0) !== n) return false;
  const views = await Promise.all(monitors().map((m) => json<ClusterView>(`${m}/cluster`).catch(() => null)));
  return (
    views.length === n &&
    views.every(
      (v) =>
        JSON.stringify(
          v?.members
            .filter((m) => m.state === 'alive')
            .map((m) => m.instanceId)
            .sort(),
        ) === JSON.stringify(on),
    )
  );
}

describe('a pool of real agents on the vsphere remoter base (vSphere simulator, loopback guests)', () => {
  beforeAll(async () => {
    sim = await startSimulator();
    dir = await mkdtemp(join(tmpdir(), 'poolparty-vsphere-pool-'));
    await execAsync(process.execPath, ['scripts/build-artifact.mjs', '--outdir', join(dir, 'artifact')]);
    config = join(dir, 'clouds.ts');
    queueFile = join(dir, 'queue');
    await writeFile(queueFile, '0\n');
    monitorPort = await freePort('127.0.0.1');
    let p2pPort = await freePort('127.0.0.1');
    while (p2pPort === monitorPort) p2pPort = await freePort('127.0.0.1');
    const creds = { VSPHERE_USER: sim.user, VSPHERE_PASSWORD: sim.password };
    // The leader's credentials come from its environment, as an operator's env file would give them.
    machines = new Ec2Machines({
      dir: join(dir, 'machines'),
      firstAddress: randomLoopbackBase(),
      agent: join(dir, 'artifact', 'poolparty-agent.mjs'),
      agentEnv: creds,
    });
    guests = new SimGuests(sim.client(), FOLDER, machines);
    const using = JSON.stringify({
      url: sim.url,
      datacenter: 'DC0',
      folder: 'pools/vpool',
      template: 'DC0_H0_VM0',
      cluster: 'DC0_C0',
      thumbprint: sim.sha256,
      p2pPort,
    });
    await writeFile(
      config,
      oneCloudPool({
        name: 'vpool',
        provider: 'vsphere',
        using,
        min: MIN,
        max: MAX,
        fields: [`monitor: { port: ${monitorPort} }`, ...queueDrivenFields(queueFile, quickScaling())],
      }),
    );
    cliEnv = cliEnvIn(dir, creds, join(dir, 'laptop'));
  }, 300_000);

  afterAll(async () => {
    await guests?.close();
    await machines?.close();
    await sim?.close();
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }, 60_000);

  it('bootstrap clones one VM whose guestinfo boots an agent that leads', async () => {
    const boot = await runCli([CLI, 'bootstrap', '-c', config, '--timeout', '60s', '--json'], cliEnv, 120_000);
    expect(boot.code, boot.stderr).toBe(0);
    const [name] = [...(await vms()).keys()];
    if (!name) throw new Error('no VM cloned');
    const machine = machines?.machines.get(name);
    await machine?.booted;
    expect(machine?.bootError).toBeUndefined();
    await waitFor(
      'the first node to lead',
      async () => (await json<ClusterView>(`${monitors()[0]}/cluster`)).leader !== null,
      {
        timeoutMs: 20_000,
      },
    );
  }, 150_000);

  it('expands by cloning to max under load, never above; contracts by destroying to min', async () => {
    const loaded = Date.now();
    await writeFile(queueFile, '50\n');
    await waitFor(`${MAX} VMs alive everywhere`, () => converged(MAX), { timeoutMs: 90_000, everyMs: 300 });
    await waitForHeldAtBound(monitors, 'expand', { since: loaded });
    expect([...(await vms()).values()].filter((p) => p === 'poweredOn')).toHaveLength(MAX);
    for (const m of machines?.machines.values() ?? []) expect(m.bootError).toBeUndefined();
    expect(guests?.maxOn).toBe(MAX);

    const unloaded = Date.now();
    await writeFile(queueFile, '0\n');
    await waitFor(`back to ${MIN}`, () => converged(MIN), { timeoutMs: 90_000, everyMs: 300 });
    await waitForHeldAtBound(monitors, 'contract', { since: unloaded });
    expect(await vms()).toHaveProperty('size', MIN);
    const d = await decisionsOf(monitors());
    expect(d.filter((x) => x.action === 'contract' && x.result === 'ok').length).toBeGreaterThanOrEqual(1);
  }, 240_000);

  it('list, status, plan and terminate work on the vsphere cloud', async () => {
    const [name] = [...(await vms()).keys()];
    const list = await runCli([CLI, 'list', '-c', config, '--json'], cliEnv);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(name);
    const status = await runCli([CLI, 'status', '-c', config, '--json'], cliEnv);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(name);
    const plan = await runCli([CLI, 'plan', '-c', config, 'terminate', '--json'], cliEnv);
    expect(plan.code, plan.stderr).toBe(0);
    expect((JSON.parse(plan.stdout) as { clouds: { provider: string; end: string[] }[] }).clouds[0]).toMatchObject({
      provider: 'vsphere',
      end: [name],
    });
    const end = await runCli([CLI, 'terminate', '-c', config, '--yes', '--json'], cliEnv, 120_000);
    expect(end.code, end.stderr).toBe(0);
    expect((JSON.parse(end.stdout) as { terminated: string[] }).terminated).toEqual([name]);
    expect((await vms()).size).toBe(0);
    await waitFor('the last agent to stop', () => machines?.running().length === 0);
  }, 180_000);
});
