import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentNodeEnv } from '../shared/agent-node-flags.ts';
import { ensureIdentity } from '../shared/identity.ts';
import type { LocalInstance, LocalState } from '../shared/remoter/local-state.ts';
import { VERSION } from '../shared/version.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';
import { stopProcess } from './helpers/agent-process.ts';
import { UpgradePoolFixture } from './helpers/upgrade-pool-fixture.ts';
import { getJson, oneLeader, type UpgradeNodeView } from './helpers/upgrade-views.ts';

/**
 * Issue 19, a member without the upgrade key in a bootstrapped pool: every launcher hands new
 * agents the pool's upgrade public key, but an agent configured by hand or by an old launcher has
 * none. A real local pool of 2 agents is bootstrapped; a third joins it as an old launcher would
 * have started it: recorded in the launcher's instances.json (so the pool's binding admits it),
 * its config the launcher's own for local-1 with its own id, data dir and ports and no `upgrade`.
 * (Restarting a recorded member with such a config does not work: the leader relaunches a member
 * whose process died, with the key, within seconds.) `poolparty upgrade` must halt at that
 * member's staging, the CLI and GET /upgrade name it and why, and the others stay on the version
 * they run, ready, all in one pool.
 */
let fx: UpgradePoolFixture;
let keyless: ChildProcess | undefined;
let keylessId = '';
const V2 = `${VERSION}-keyless.2`;

/** A port free on `address` now (the OS picks it). */
const freePort = (address: string) =>
  new Promise<number>((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, address, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });

beforeAll(async () => {
  fx = await UpgradePoolFixture.start({ name: 'upkl', min: 2, max: 3 });
  await oneLeader(fx.monitors, 2);
  const file = join(fx.pool.stateDir, 'local', 'instances.json');
  const state = JSON.parse(await readFile(file, 'utf8')) as LocalState;
  const first = state.instances[0] as LocalInstance;
  const config = JSON.parse(await readFile(first.configFile, 'utf8')) as Record<string, unknown>;
  expect(config.upgrade, 'the launcher hands its agents the upgrade key').toMatchObject({
    publicKey: expect.any(String),
  });
  const { upgrade: _key, ...withoutKey } = config;
  keylessId = `local-${state.nextIndex}`;
  const dir = join(dirname(dirname(first.configFile)), keylessId);
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const { peerId } = await ensureIdentity(dataDir);
  const [p2pPort, monitorPort] = [await freePort(first.address), await freePort(first.address)];
  const monitor = `http://${first.address}:${monitorPort}`;
  const member: LocalInstance = {
    ...first,
    id: keylessId,
    p2pPort,
    monitorPort,
    monitor,
    peerId,
    launchedAt: Date.now(),
    configFile: join(dir, 'agent.json'),
    logFile: join(dir, 'agent.log'),
  };
  const handConfig = {
    ...withoutKey,
    instanceId: keylessId,
    dataDir,
    listen: [`/ip4/${first.address}/tcp/${p2pPort}`],
    bootstrap: [`/ip4/${first.address}/tcp/${first.p2pPort}/p2p/${first.peerId}`],
    monitor: { host: first.address, port: monitorPort, url: monitor },
  };
  await writeFile(member.configFile, JSON.stringify(handConfig, null, 2), { mode: 0o600 });
  // local-1's command line with this config.
  const argv = readFileSync(`/proc/${first.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  argv[argv.indexOf('--config') + 1] = member.configFile;
  const log = openSync(member.logFile, 'a');
  keyless = spawn(argv[0] as string, argv.slice(1), {
    cwd: dir,
    env: agentNodeEnv(fx.pool.env),
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  // Recorded as the launcher records what it started (atomically, as it writes).
  state.instances.push({ ...member, pid: keyless.pid as number });
  state.nextIndex += 1;
  await writeFile(`${file}.sysM`, JSON.stringify(state, null, 2));
  await rename(`${file}.sysM`, file);
  fx.monitors.push(monitor);
  // The pool admits it, and the agent serving its monitor is this one: no key configured.
  try {
    await oneLeader(fx.monitors, 3);
    await waitFor(
      `${member.id} serving without the upgrade key`,
      async () => (await getJson<{ keyConfigured: boolean }>(`${monitor}/upgrade`)).keyConfigured === false,
      { timeoutMs: 60_000, everyMs: 500 },
    );
  } catch (err) {
    const tail = (await readFile(member.logFile, 'utf8').catch(() => '')).split('\n').slice(-15);
    throw new Error(`${(err as Error).message}\n${member.id} (exit ${keyless?.exitCode}):\n${tail.join('\n')}`);
  }
}, 600_000);

afterAll(async () => {
  if (keyless) await stopProcess(keyless);
  await fx?.stop();
});

describe('a member without the upgrade key in a bootstrapped pool', () => {
  it('halts the rollout at its staging; the CLI and /upgrade name it and why; the others keep their agent', {
    timeout: 600_000,
  }, async () => {
    const all = fx.monitors;
    const leader = await oneLeader(all, 3);
    expect(leader.instanceId, 'the keyless member is not the leader here').not.toBe(keylessId);
    const v2 = await fx.artifact('v2', { version: V2 });
    const r = await fx.cli('upgrade', '-c', fx.pool.config, '--artifact', v2, '--timeout', '4m', '--yes', '--json');
    const why = 'refused: this agent has no upgrade key: it refuses every upgrade';
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stderr).toContain(`upgrade: halted at ${keylessId}: ${why}`);

    const leaderMonitor = all.find((m) => new URL(m).host === new URL(leader.monitor as string).host) as string;
    const view = await getJson<UpgradeNodeView>(`${leaderMonitor}/upgrade`);
    expect(view.rollout?.halted).toMatchObject({ instanceId: keylessId, reason: why });
    const mine = view.rollout?.members.find((m) => m.instanceId === keylessId);
    expect(mine, JSON.stringify(view.rollout)).toMatchObject({ phase: 'failed', error: why });
    // Halted at staging: no member was told to restart.
    expect(view.rollout?.members.filter((m) => m.phase === 'restarting' || m.phase === 'done')).toEqual([]);

    // Every node still runs the version it ran, ready, and all see the same three alive.
    for (const m of all) {
      const self = (await getJson<UpgradeNodeView>(`${m}/upgrade`)).self;
      expect(self, m).toMatchObject({ version: VERSION, ready: true });
    }
    const views = await waitFor(
      'every node sees three alive members on the old version',
      async () => {
        const vs = await Promise.all(all.map((m) => getJson<ClusterView>(`${m}/cluster`).catch(() => null)));
        const ok = vs.every((c) => {
          const alive = c?.members.filter((x) => x.state === 'alive') ?? [];
          return alive.length === 3 && alive.every((x) => x.version === VERSION);
        });
        return ok ? vs : null;
      },
      { timeoutMs: 30_000, everyMs: 500 },
    );
    expect(new Set(views.map((c) => c?.leader?.peerId)).size).toBe(1);
  });
});
