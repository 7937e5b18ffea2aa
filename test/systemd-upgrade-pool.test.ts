import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArtifact } from '../scripts/build-artifact.mjs';
import { VERSION } from '../shared/version.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';
import { SystemdNamespace, systemdNamespaceUnavailable } from './helpers/systemd-namespace.ts';
import { linkNamespaces, unlinkNamespaces } from './helpers/systemd-ns-link.ts';
import { cliInNamespaceNetwork, startNamespaceSshd } from './helpers/systemd-ssh-host.ts';
import type { UpgradeNodeView } from './helpers/upgrade-views.ts';

/**
 * Issue 19 under systemd on a pool of two nodes: two systemd namespaces
 * (test/helpers/systemd-namespace.ts), each with sshd as a unit, linked by a veth pair
 * (test/helpers/systemd-ns-link.ts, a private /24 that exists only inside them). One
 * `poolparty bootstrap` of an ssh cloud of both hosts with init 'systemd' installs the agent under
 * its unit on each; the agents form one pool across the link. `poolparty upgrade` to a rebuild
 * reaches both, the leader last, with both units active, same main pid, no restart; then
 * `poolparty upgrade --rollback` returns both to the installed agent.
 */

const unavailable = systemdNamespaceUnavailable();
const CLI = resolve('bin/poolparty.mjs');
const UNIT = 'poolparty-agent';
const STORE = '/var/lib/poolparty/upgrade';
const INSTALLED = '/opt/poolparty/poolparty-agent.mjs';
const V2 = `${VERSION}-syspool2`;
const SSHD_AUTH = '/etc/poolparty-test-sshd/authorized_keys';

interface Node {
  ns: SystemdNamespace;
  addr: string;
}
interface Progress {
  type: string;
  at?: number;
  phase?: string;
  instanceId?: string;
}

const title = 'poolparty upgrade of a two-node pool under systemd (two linked systemd namespaces)';
describe.skipIf(unavailable !== null)(unavailable ? `${title} — skipped: ${unavailable}` : title, () => {
  const nodes: Node[] = [];
  let dir: string;
  let config: string;
  let env: NodeJS.ProcessEnv;
  let v2: string;
  const mainPids = new Map<string, number>();

  const show = (n: Node, prop: string) => n.ns.run('systemctl', ['show', '-P', prop, UNIT]).out.trim();
  const journal = () =>
    nodes.map((n) => n.ns.run('journalctl', ['--no-pager', '-o', 'cat', '-n', '60', '-u', UNIT]).out).join('\n---\n');
  const get = <T>(n: Node, route: string) =>
    JSON.parse(n.ns.run('curl', ['-sf', '-m', '3', `http://${n.addr}:8642${route}`]).out) as T;
  const link = (n: Node, name: string) => n.ns.run('readlink', [`${STORE}/${name}.mjs`]).out.trim();
  // The CLI runs in the first namespace's network: it reaches both hosts across the link.
  const cli = (...args: string[]) =>
    cliInNamespaceNetwork(
      nodes[0]?.ns as SystemdNamespace,
      [CLI, args[0] as string, '--state-dir', join(dir, 'state'), ...args.slice(1)],
      env,
      600_000,
    );
  const leaderId = () => {
    const c = get<ClusterView>(nodes[0] as Node, '/cluster');
    return c.members.find((m) => m.peerId === c.leader?.peerId)?.instanceId;
  };
  /**
   * The leader restarted last: told to restart after every other member was, and no earlier than
   * that member was done (the leader's events of one step share a time, not an order).
   */
  const leaderLast = (events: Progress[], leader: string) => {
    const at = (id: string, phase: string) =>
      events.find((e) => e.type === 'upgrade-progress' && e.instanceId === id && e.phase === phase)?.at;
    const own = at(leader, 'restarting');
    const others = nodes.map((n) => n.addr).filter((a) => a !== leader);
    return (
      own !== undefined &&
      others.every((a) => {
        const [restarting, done] = [at(a, 'restarting'), at(a, 'done')];
        return restarting !== undefined && done !== undefined && restarting < own && done <= own;
      })
    );
  };
  const unitsUntouched = () => {
    for (const n of nodes) {
      expect(show(n, 'ActiveState'), n.addr).toBe('active');
      expect(show(n, 'NRestarts'), n.addr).toBe('0');
      expect(Number(show(n, 'MainPID')), n.addr).toBe(mainPids.get(n.addr));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-systemd-pool-'));
    const built = (await buildArtifact({ outdir: join(dir, 'art') })).file;
    env = { ...process.env, POOLPARTY_ARTIFACT_DIR: join(dir, 'art') };
    await mkdir(join(dir, 'v2'));
    v2 = join(dir, 'v2', 'poolparty-agent.mjs');
    await writeFile(v2, Buffer.concat([await readFile(built), Buffer.from('\n// v2 rebuild\n')]));
    await writeFile(join(dir, 'v2', 'poolparty-agent.json'), JSON.stringify({ version: V2 }));
    // Pushed one at a time: a failure half way still leaves what started in `nodes` for afterAll.
    for (let i = 0; i < 2; i++) nodes.push({ ns: await SystemdNamespace.start(), addr: '' });
    const [a, b] = nodes as [Node, Node];
    [a.addr, b.addr] = linkNamespaces(a.ns, b.ns);
    const { keyFile } = await startNamespaceSshd(a.ns, await mkdtemp(join(dir, 'ssh-a-')), '0.0.0.0');
    await startNamespaceSshd(b.ns, await mkdtemp(join(dir, 'ssh-b-')), '0.0.0.0');
    // One user key for the cloud: the first host's, accepted by the second too.
    await writeFile(b.ns.path(SSHD_AUTH), await readFile(a.ns.path(SSHD_AUTH)), { mode: 0o600 });
    const hosts = nodes.map((n) => `{ host: '${n.addr}', port: 22 }`).join(', ');
    config = join(dir, 'clouds.ts');
    await writeFile(
      config,
      `import { definePool, ssh } from 'poolparty';
export default definePool({
  name: 'syspool',
  clouds: {
    web: {
      instances: { min: 2, max: 2 },
      using: ssh({ hosts: [${hosts}], user: 'root', keyFile: ${JSON.stringify(keyFile)}, init: 'systemd', waitTimeout: '20s' }),
      agent: { upgradeGate: '60s' },
    },
  },
});
`,
    );
  }, 300_000);

  afterAll(async () => {
    if (nodes[0]) unlinkNamespaces(nodes[0].ns);
    for (const n of nodes) await n.ns.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('one bootstrap installs the agent under its unit on both nodes; every agent sees the other', {
    timeout: 300_000,
  }, async () => {
    const boot = await cli('bootstrap', '-c', config, '--timeout', '120s', '--json');
    expect(boot.code, `${boot.stderr}\n${journal()}`).toBe(0);
    for (const n of nodes) {
      expect(show(n, 'ActiveState'), n.addr).toBe('active');
      expect(link(n, 'current'), n.addr).toBe(INSTALLED);
      mainPids.set(n.addr, Number(show(n, 'MainPID')));
    }
    await waitFor(
      'both agents alive in both views, one leader',
      () => {
        const views = nodes.map((n) => get<ClusterView>(n, '/cluster'));
        const alive = views.map((c) =>
          c.members
            .filter((m) => m.state === 'alive')
            .map((m) => m.instanceId)
            .sort()
            .join(' '),
        );
        const all = nodes
          .map((n) => n.addr)
          .sort()
          .join(' ');
        // One leader, the same in every view (no view's leader at all is not agreement).
        const leaders = new Set(views.map((c) => c.leader?.peerId ?? null));
        return alive.every((s) => s === all) && leaders.size === 1 && !leaders.has(null);
      },
      { timeoutMs: 120_000, everyMs: 500 },
    );
  });

  it('upgrades both nodes to a rebuild, the leader last; units active, same main pid, no restart', {
    timeout: 600_000,
  }, async () => {
    const leader = leaderId() as string;
    const r = await cli('upgrade', '-c', config, '--artifact', v2, '--timeout', '5m', '--yes', '--json');
    expect(r.code, `${r.stderr}\n${journal()}`).toBe(0);
    const out = JSON.parse(r.stdout) as { sha256: string; events: Progress[] };
    expect(leaderLast(out.events, leader), JSON.stringify(out.events)).toBe(true);
    const target = `${STORE}/artifacts/${out.sha256}/poolparty-agent.mjs`;
    for (const n of nodes) {
      expect(get<{ version: string }>(n, '/health').version, n.addr).toBe(V2);
      expect(link(n, 'current'), n.addr).toBe(target);
      expect(link(n, 'previous'), n.addr).toBe(INSTALLED);
    }
    unitsUntouched();
    await waitFor(
      'each node ready on the rebuild, its trial recorded as passed',
      () =>
        nodes.every((n) => {
          const s = get<UpgradeNodeView>(n, '/upgrade').self;
          return s.version === V2 && s.ready && s.last?.ok === true && s.last.sha256 === out.sha256;
        }),
      { timeoutMs: 60_000, everyMs: 500 },
    );
  });

  it('--rollback returns both nodes to the installed agent, the leader last; units untouched', {
    timeout: 600_000,
  }, async () => {
    const leader = leaderId() as string;
    const r = await cli('upgrade', '-c', config, '--rollback', '--timeout', '5m', '--yes', '--json');
    expect(r.code, `${r.stderr}\n${journal()}`).toBe(0);
    const out = JSON.parse(r.stdout) as { events: Progress[] };
    expect(leaderLast(out.events, leader), JSON.stringify(out.events)).toBe(true);
    await waitFor(
      'both nodes back on the installed agent, ready',
      () =>
        nodes.every((n) => {
          const s = get<UpgradeNodeView>(n, '/upgrade').self;
          return s.version === VERSION && s.ready && link(n, 'current') === INSTALLED;
        }),
      { timeoutMs: 120_000, everyMs: 500 },
    );
    unitsUntouched();
  });
});
