import type { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { BundleManager } from './bundle/manager.ts';
import type { EventHub } from './events.ts';
import type { Leadership } from './leadership.ts';
import { createMonitorApp, type MonitorRoute } from './monitor/app.ts';
import { HttpError } from './monitor/errors.ts';
import type { HistoryRecorder } from './monitor/history.ts';
import type { ReadyView } from './monitor/readiness.ts';
import type { MonitorSource } from './monitor/source.ts';
import type { LedgerEntry } from './scaler/ledger.ts';

/** What the monitor reads of an agent: a narrow read model, not the agent itself. */
export interface AgentReadModel {
  readonly peerId: string;
  readonly events: EventHub;
  readonly leadership: Leadership | undefined;
  readonly scaler: { snapshot(): object } | undefined;
  readonly bundles: BundleManager | undefined;
  readonly history: HistoryRecorder | undefined;
  /** The pool's recent scaling actions as gossiped (intents and outcomes): a follower's view of decisions. */
  readonly ledger: { entries(): LedgerEntry[] };
  health: MonitorSource['health'];
  stats: MonitorSource['stats'];
  cluster: MonitorSource['cluster'];
  ready(): ReadyView;
}

/** The monitor of one agent: the built-in routes plus /leader and /scaling. */
export function buildMonitor(agent: AgentReadModel, registry: Registry, extra: MonitorRoute[] = []): Hono {
  const routes: MonitorRoute[] = [
    {
      method: 'GET',
      path: '/ready',
      description: 'readiness: 200 when serving, joined and the bundle is applied, else 503 with the failing checks',
      handler: (c) => {
        const view = agent.ready();
        return c.json(view, view.ready ? 200 : 503);
      },
    },
    {
      method: 'GET',
      path: '/leader',
      description: 'the leader this agent follows: peer id, term, since when',
      handler: (c) => {
        const leader = agent.leadership?.leader;
        if (!leader) throw new HttpError(404, 'no leader elected yet', { body: { term: agent.leadership?.term ?? 0 } });
        return c.json({ ...leader, self: leader.peerId === agent.peerId });
      },
    },
    {
      method: 'GET',
      path: '/scaling',
      description: 'scaling rules, current values, sustain timers, cooldowns, pending intents, last 50 decisions',
      handler: (c) => {
        const leader = agent.leadership?.leader ?? null;
        const scaler = agent.scaler?.snapshot();
        return c.json({ leader, enabled: scaler !== undefined, ...scaler, actions: recentActions(agent.ledger) });
      },
    },
    {
      method: 'GET',
      path: '/history',
      description:
        'the last hour of pool samples (members per cloud, bounds, rule values) and the last 200 pool events',
      handler: (c) => c.json(agent.history?.history.view() ?? { everyMs: 0, samples: [], events: [] }),
    },
    {
      method: 'GET',
      path: '/bundle',
      description: 'configuration: applied bundle hash, state, last run (resolver, duration, verifiers), rollout',
      handler: (c) => c.json({ peerId: agent.peerId, ...agent.bundles?.view() }),
    },
  ];
  return createMonitorApp(
    {
      health: () => agent.health(),
      stats: () => agent.stats(),
      cluster: () => agent.cluster(),
      subscribe: (listener) => {
        const events = agent.events.subscribe(listener);
        const samples = agent.history?.onSample((s) => listener({ type: 'pool-sample', ...s }));
        return () => {
          events();
          samples?.();
        };
      },
      registry,
    },
    { routes: [...routes, ...extra] },
  );
}

/** The ledger's entries as GET /scaling's `actions`: newest first, the fields a reader needs. */
function recentActions(ledger: { entries(): LedgerEntry[] }) {
  return ledger
    .entries()
    .map(({ intent: i, outcome: o }) => ({
      at: i.at,
      term: i.term,
      cloud: i.cloud,
      kind: i.kind,
      count: i.count,
      reason: i.reason,
      outcome: o ? (o.ok ? 'ok' : 'failed') : 'pending',
      instanceIds: o?.instanceIds ?? [],
    }))
    .sort((a, b) => b.at - a.at);
}
