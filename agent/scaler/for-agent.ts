import type { RemoterBase } from '../../shared/remoter/types.ts';
import { parseRule } from '../../shared/scaling/rule.ts';
import type { AgentConfig } from '../../shared/wire/agent-config.ts';
import type { MemberView, PoolEvent } from '../../shared/wire/cluster.ts';
import type { AgentMetrics } from '../monitor/prom.ts';
import type { ActionLedger } from './ledger.ts';
import { type ControlDraft, Scaler } from './scaler.ts';

export interface AgentScalerOptions {
  config: AgentConfig;
  ledger: ActionLedger;
  now: () => number;
  metrics: AgentMetrics;
  leads: () => number | null;
  selfPeerId: () => string;
  retireSelf: (reason: string, term: number) => void;
  members: () => MemberView[];
  publish: (msg: ControlDraft) => Promise<void>;
  emit: (e: PoolEvent) => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
  /** The bundle new instances should apply at first boot (the pool's desired one). */
  bundleHash?: () => string | undefined;
  /** Provider override (tests); default: built from config.scaling on first use. */
  remoter?: RemoterBase | undefined;
}

/** The scaler of an agent whose config allows it to lead; undefined when it may not. */
export function createAgentScaler(o: AgentScalerOptions): Scaler | undefined {
  const s = o.config.scaling;
  if (!s) return undefined;
  let remoter = o.remoter;
  return new Scaler({
    pool: o.config.pool,
    cloud: o.config.cloud,
    min: s.min,
    max: s.max,
    config: s.config,
    deadAfter: o.config.tunables.deadAfter,
    replaceAfter: o.config.tunables.replaceAfter,
    rules: {
      expand: s.config.expandWhen ? parseRule(s.config.expandWhen) : null,
      contract: s.config.contractWhen ? parseRule(s.config.contractWhen) : null,
    },
    remoter: () => {
      // Loaded on first use: only a leader needs a provider, and provider SDKs (AWS, ssh2) cost
      // an idle follower tens of MB and seconds of startup.
      remoter ??= lazyRemoter(async () => {
        const { loadRemoter: createRemoter } = await import('../../shared/remoter/load.ts');
        // The node's own pool key: a remoter defaulting to <stateDir>/pool.key would mint a new one.
        return createRemoter({
          pool: s.definition,
          cloud: o.config.cloud,
          stateDir: s.stateDir,
          poolKeyFile: o.config.poolKeyFile,
          ...(o.bundleHash ? { bundleHash: o.bundleHash } : {}),
        });
      });
      return remoter;
    },
    ledger: o.ledger,
    now: o.now,
    leads: o.leads,
    selfPeerId: o.selfPeerId,
    selfInstanceId: () => o.config.instanceId,
    retireSelf: o.retireSelf,
    members: o.members,
    publish: o.publish,
    onDecision: (d) => {
      o.metrics.scalingDecisions.inc({ action: d.action });
      if (d.action !== 'none') o.metrics.scalingActions.inc({ kind: d.action, result: d.result ?? 'ok' });
      o.emit({ type: 'scaling-decision', ...d });
    },
    log: o.log,
  });
}

/** A RemoterBase whose implementation is created on the first call. */
export function lazyRemoter(load: () => Promise<RemoterBase>): RemoterBase {
  let loaded: Promise<RemoterBase> | undefined;
  const get = () => {
    loaded ??= load();
    return loaded;
  };
  return {
    provider: 'lazy',
    launch: async (req) => (await get()).launch(req),
    list: async (filter) => (await get()).list(filter),
    terminate: async (ids) => (await get()).terminate(ids),
    reconcile: async (filter) => {
      const remoter = await get();
      return remoter.reconcile ? remoter.reconcile(filter) : { adopted: [], cleared: [], strays: [] };
    },
  };
}
