import type { SshUsingDefinition } from '../config/ssh-schema.ts';
import type { HealthView } from '../wire/cluster.ts';
import type { JsonStore } from './json-store.ts';
import { cutShort, hostId, inUse, type SshHostRecord, type SshState } from './ssh-state.ts';
import { urlHost } from './ssh-util.ts';
import type { ListFilter, ReconcileReport } from './types.ts';

/** What reconciling a static-hosts cloud needs from its remoter. */
export interface SshReconcileDeps {
  pool: string;
  cloud: string;
  using: SshUsingDefinition;
  store: JsonStore<SshState>;
  /** The agent's /health when it answers as instance `id`. */
  health: (monitor: string, id: string) => Promise<HealthView | undefined>;
  /** Stops the agent on a host and removes its files. */
  deprovision: (h: Pick<SshHostRecord, 'host' | 'port' | 'prefix'>) => Promise<unknown>;
}

/**
 * Settles launches cut short (a 'pending' record whose launcher died): adopted if the host's agent
 * answers /health, else deprovisioned and freed. Then ends strays: an agent answering as one of the
 * cloud's hosts that no record holds is deprovisioned. A host that could not be deprovisioned is
 * left 'stopping' (terminate retries it) and returned among `failures`.
 */
export async function reconcileHosts(
  d: SshReconcileDeps,
  filter: ListFilter,
): Promise<{ report: ReconcileReport; failures: { host: string; error: Error }[] }> {
  const report: ReconcileReport = { adopted: [], cleared: [], strays: [] };
  const failures: { host: string; error: Error }[] = [];
  const { pool, cloud, using, store } = d;
  if (filter.pool !== pool || (filter.cloud !== undefined && filter.cloud !== cloud)) return { report, failures };
  // Taken over under the lock, so a concurrent reconcile or launch leaves them to us.
  const cut = await store.update((state) => {
    const found = state.hosts.filter((h) => h.pool === pool && h.cloud === cloud && cutShort(h));
    for (const h of found) h.launcherPid = process.pid;
    return found.map((h) => ({ ...h }));
  });
  const held = new Set((await store.read()).hosts.filter(inUse).map((h) => h.id));
  const unheld = using.hosts.filter((h) => !held.has(hostId(h.host, h.port)));
  const [cutHealth, unheldHealth] = await Promise.all([
    Promise.all(cut.map((h) => d.health(h.monitor, h.id))),
    Promise.all(unheld.map((h) => d.health(`http://${urlHost(h.host)}:${using.monitorPort}`, hostId(h.host, h.port)))),
  ]);
  const ends = [
    ...cut.flatMap((h, i) => (cutHealth[i] ? [] : [{ id: h.id, target: h, kind: 'cleared' as const }])),
    ...unheld.flatMap((h, i) =>
      unheldHealth[i] ? [{ id: hostId(h.host, h.port), target: h, kind: 'strays' as const }] : [],
    ),
  ];
  const results = await Promise.allSettled(ends.map((e) => d.deprovision(e.target)));
  await store.update((state) => {
    cut.forEach((c, i) => {
      const rec = state.hosts.find((h) => h.id === c.id && h.launchId === c.launchId);
      const health = cutHealth[i];
      if (!rec || !health) return;
      Object.assign(rec, { state: 'running', peerId: health.peerId });
      delete rec.launcherPid;
      report.adopted.push(rec.id);
    });
    ends.forEach((e, i) => {
      const r = results[i] as PromiseSettledResult<unknown>;
      const rec = e.kind === 'cleared' ? state.hosts.find((h) => h.id === e.id) : undefined;
      if (rec) delete rec.launcherPid;
      if (r.status === 'fulfilled') {
        if (rec) Object.assign(rec, { state: 'terminated', terminatedAt: Date.now(), error: 'launch cut short' });
        report[e.kind].push(e.id);
      } else {
        const error = r.reason instanceof Error ? r.reason : new Error(String(r.reason));
        if (rec) Object.assign(rec, { state: 'stopping', error: error.message });
        failures.push({ host: e.id, error });
      }
    });
  });
  return { report, failures };
}
