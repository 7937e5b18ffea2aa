import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { VERSION } from '../../shared/version.ts';
import type { ClusterView, MemberState, PoolEvent } from '../../shared/wire/cluster.ts';

/** One cloud's scaler as GET /scaling shows it: only the fields the metrics read. */
export interface CloudScalingView {
  bounds: { min: number; max: number };
  instances: number | null;
  rules: Record<'expand' | 'contract', RuleView | null>;
}

interface RuleView {
  holds: boolean;
  sustain: { heldForMs: number };
  terms: { text: string; threshold: number; value: number | null }[];
}

/** What the pool metrics read at scrape time: narrow views, so a test can hand in plain objects. */
export interface PoolMetricsSource {
  pool: string;
  cloud: string;
  instanceId: string;
  cluster(): ClusterView;
  /** Every cloud's scaler (absent: this agent may not lead, so it knows no bounds or rules). */
  scaling(): Record<string, CloudScalingView> | undefined;
  /** True while this agent leads: only then are the members' metrics exported (the leader holds them all). */
  leads(): boolean;
  /** Subscribes to pool events (decisions, bundle applies); returns an unsubscribe function. */
  subscribe(listener: (e: PoolEvent) => void): () => void;
}

const STATES: MemberState[] = ['alive', 'suspect', 'dead', 'left'];

/**
 * The metrics an operator asks for first — how big is each cloud against its bounds, what do the
 * rules see, why did it scale, are bundles applying — registered in the agent's registry. Gauges
 * are computed from the views when scraped (never stale, nothing to update); counters follow events.
 */
export function registerPoolMetrics(registry: Registry, s: PoolMetricsSource): () => void {
  const registers = [registry];
  // Nine gauges read the scalers' snapshots and two the cluster view: once per scrape is enough.
  const cluster = perRender(() => s.cluster());
  const scaling = perRender(() => s.scaling());
  new Gauge({
    name: 'poolparty_build_info',
    help: 'Always 1; the labels say which agent build runs here and for which pool, cloud and instance.',
    labelNames: ['version', 'node_version', 'pool', 'cloud', 'instance_id'] as const,
    registers,
  }).set(
    { version: VERSION, node_version: process.version, pool: s.pool, cloud: s.cloud, instance_id: s.instanceId },
    1,
  );

  new Gauge({
    name: 'poolparty_cloud_members',
    help: 'Members of each cloud as this agent sees them (self included), by membership state.',
    labelNames: ['cloud', 'state'] as const,
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, Record<MemberState, number>>();
      for (const c of Object.keys(scaling() ?? {})) counts.set(c, { alive: 0, suspect: 0, dead: 0, left: 0 });
      for (const m of cluster().members) {
        const row = counts.get(m.cloud) ?? { alive: 0, suspect: 0, dead: 0, left: 0 };
        row[m.state]++;
        counts.set(m.cloud, row);
      }
      for (const [cloud, row] of counts) for (const state of STATES) this.set({ cloud, state }, row[state]);
    },
  });
  const bound = (name: string, help: string, pick: (v: CloudScalingView) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['cloud'] as const,
      registers,
      collect() {
        this.reset();
        for (const [cloud, v] of Object.entries(scaling() ?? {})) {
          const value = pick(v);
          if (value !== null) this.set({ cloud }, value);
        }
      },
    });
  bound(
    'poolparty_cloud_min_instances',
    'Fewest instances the cloud may have (its scaling bound).',
    (v) => v.bounds.min,
  );
  bound('poolparty_cloud_max_instances', 'Most instances the cloud may have (its scaling bound).', (v) => v.bounds.max);
  bound(
    'poolparty_cloud_instances',
    "Instances the leader counted at its last scaling step (provider's running and pending, plus launches not listed yet); only on the leader.",
    (v) => v.instances,
  );

  const rules = (name: string, help: string, value: (r: RuleView) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['cloud', 'rule'] as const,
      registers,
      collect() {
        this.reset();
        for (const [cloud, v] of Object.entries(scaling() ?? {}))
          for (const rule of ['expand', 'contract'] as const) {
            const r = v.rules[rule];
            if (r) this.set({ cloud, rule }, value(r));
          }
      },
    });
  rules(
    'poolparty_rule_holds',
    '1 while the rule holds on the latest metrics (before its sustain window), else 0.',
    (r) => (r.holds ? 1 : 0),
  );
  rules(
    'poolparty_rule_sustained_seconds',
    'How long the rule has held without a break.',
    (r) => r.sustain.heldForMs / 1000,
  );
  const terms = (name: string, help: string, pick: (t: RuleView['terms'][number]) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['cloud', 'rule', 'term'] as const,
      registers,
      collect() {
        this.reset();
        for (const [cloud, v] of Object.entries(scaling() ?? {}))
          for (const rule of ['expand', 'contract'] as const)
            for (const t of v.rules[rule]?.terms ?? []) {
              const value = pick(t);
              if (value !== null) this.set({ cloud, rule, term: t.text }, value);
            }
      },
    });
  terms(
    'poolparty_rule_value',
    "Each comparison of a scaling rule: the aggregate it compares (e.g. avg(load) over the cloud's members).",
    (t) => t.value,
  );
  terms(
    'poolparty_rule_threshold',
    'Each comparison of a scaling rule: the threshold it compares against.',
    (t) => t.threshold,
  );

  new Gauge({
    name: 'poolparty_member_metric',
    help: "Each member's last gossiped metric; exported by the leader only (it receives every member's reports).",
    labelNames: ['cloud', 'instance_id', 'metric'] as const,
    registers,
    collect() {
      this.reset();
      if (!s.leads()) return;
      for (const m of cluster().members) {
        if (m.state !== 'alive' && m.state !== 'suspect') continue;
        for (const [metric, value] of Object.entries(m.metrics))
          if (typeof value === 'number' && Number.isFinite(value))
            this.set({ cloud: m.cloud, instance_id: m.instanceId, metric }, value);
      }
    },
  });

  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  const decisions = counter(
    'poolparty_decisions_total',
    "The leader's scaling decisions, by cloud, action (expand, contract, replace, none), outcome (ok, failed, blocked, idle) and the policy that decided (expandWhen, contractWhen, target, steps, schedule, bounds; none).",
    ['cloud', 'action', 'outcome', 'policy'],
  );
  const instances = counter(
    'poolparty_instance_actions_total',
    'Instances the leader launched (expand), ended (contract) or replaced, by cloud and outcome (ok, failed).',
    ['cloud', 'kind', 'outcome'],
  );
  const applies = counter(
    'poolparty_bundle_applies_total',
    'Configuration bundle applies on this node, by outcome (ok, failed).',
    ['outcome'],
  );
  const applyDuration = new Histogram({
    name: 'poolparty_bundle_apply_duration_seconds',
    help: 'How long a successful bundle apply took on this node (fetch excluded).',
    buckets: [1, 5, 15, 30, 60, 120, 300, 600],
    registers,
  });
  // Series that exist from the first scrape make increase() and absent() alerts behave.
  applies.inc({ outcome: 'ok' }, 0);
  applies.inc({ outcome: 'failed' }, 0);
  return s.subscribe((e) => {
    if (e.type === 'scaling-decision') {
      const outcome = decisionOutcome(e);
      decisions.inc({ cloud: e.cloud, action: e.action, outcome, policy: e.policy ?? 'none' });
      if (e.action !== 'none' && (outcome === 'ok' || outcome === 'failed'))
        instances.inc({ cloud: e.cloud, kind: e.action, outcome }, Math.max(1, e.count));
    } else if (e.type === 'bundle-applied') {
      applies.inc({ outcome: 'ok' });
      applyDuration.observe(e.durationMs / 1000);
    } else if (e.type === 'bundle-failed') applies.inc({ outcome: 'failed' });
  });
}

/**
 * `read`, called once per render however many gauges ask: prom-client runs every metric's collect()
 * in one synchronous pass (registry.metrics() maps them into promises), so the value is dropped on
 * the next microtask and the following scrape reads afresh.
 */
export function perRender<T>(read: () => T): () => T {
  let held: { value: T } | undefined;
  return () => {
    if (held) return held.value;
    held = { value: read() };
    queueMicrotask(() => {
      held = undefined;
    });
    return held.value;
  };
}

/** A decision's outcome for the metrics: what an alert keys on. */
export function decisionOutcome(d: { action: string; blocked?: string; result?: 'ok' | 'failed' }): string {
  if (d.result) return d.result;
  if (d.blocked) return 'blocked';
  return d.action === 'none' ? 'idle' : 'ok';
}
