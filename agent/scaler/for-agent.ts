import type { AgentTunables } from '../../shared/config/tunables.ts';
import type { RemoterBase } from '../../shared/remoter/types.ts';
import type { ScalingConfig } from '../../shared/scaling/config.ts';
import type { AgentConfig } from '../../shared/wire/agent-config.ts';
import type { MemberView, PoolEvent } from '../../shared/wire/cluster.ts';
import type { ActionLedger } from './ledger.ts';
import { PoolScaler } from './pool-scaler.ts';
import { type ControlDraft, Scaler, type ScalerDeps } from './scaler.ts';

export interface AgentScalerOptions {
  config: AgentConfig;
  ledger: ActionLedger;
  now: () => number;
  leads: () => number | null;
  /** How long this node has held its quorum lease without a break (ms); see ScalerDeps. */
  leaseHeldFor?: () => number;
  /** The last summary's rule windows from the leader followed (LoadExchange.leaderWindows); see ScalerDeps. */
  inherited?: ScalerDeps['inherited'];
  /** How much this node's view of metrics lags the leader's (LoadExchange.viewLag); see ScalerDeps. */
  viewLag?: ScalerDeps['viewLag'];
  selfPeerId: () => string;
  retireSelf: (reason: string, term: number) => void;
  members: () => MemberView[];
  publish: (msg: ControlDraft) => Promise<void>;
  emit: (e: PoolEvent) => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
  /** The bundle new instances should apply at first boot (the pool's desired one). */
  bundleHash?: () => string | undefined;
  /**
   * Provider override (tests): one remoter for the agent's own cloud, or one per cloud (a cloud
   * the function answers undefined for gets its real provider). Default: built from the pool
   * definition on first use.
   */
  remoter?: RemoterBase | ((cloud: string) => RemoterBase | undefined) | undefined;
}

/**
 * The scalers of an agent whose config allows it to lead: one per cloud of the pool definition
 * (each with that cloud's bounds, rules, timings and provider), so the leader heals and scales
 * every cloud wherever it runs; undefined when the agent may not lead. Clouds it cannot launch in
 * from where it runs are left out (scalableFrom).
 */
export function createAgentScaler(o: AgentScalerOptions): PoolScaler | undefined {
  const s = o.config.scaling;
  if (!s) return undefined;
  const own = o.config.cloud;
  const scalers = new Map<string, Scaler>();
  const names = [own, ...Object.keys(s.definition.clouds).filter((c) => c !== own)];
  const ownProvider = s.definition.clouds[own]?.using.provider;
  for (const cloud of names) {
    const def = s.definition.clouds[cloud];
    if (cloud !== own && (!def || !scalableFrom(def.using.provider, ownProvider))) continue;
    // The own cloud's block is the agent's (equal to the definition's when resolved together).
    const bounds = cloud === own || !def ? { min: s.min, max: s.max } : def.instances;
    const config = cloud === own || !def ? s.config : def.scaling;
    const timing = cloud === own || !def ? o.config.tunables : def.agent;
    scalers.set(cloud, cloudScaler(o, cloud, bounds, config, timing));
  }
  return new PoolScaler(own, scalers);
}

/**
 * Whether a leader of a cloud of `own` provider can scale a cloud of `other`'s: not static SSH
 * hosts (launching there needs the laptop's key), and a local cloud only from the launcher's own
 * machine, i.e. by a leader that is a local agent itself: an EC2 leader's local remoter would read
 * its own empty state dir and start that cloud's agents as processes on the EC2 instance.
 */
export function scalableFrom(other: string, own: string | undefined): boolean {
  if (other === 'ssh') return false;
  return other !== 'local' || own === 'local';
}

function cloudScaler(
  o: AgentScalerOptions,
  cloud: string,
  bounds: { min: number; max: number },
  config: ScalingConfig,
  timing: Pick<AgentTunables, 'deadAfter' | 'replaceAfter'>,
): Scaler {
  const s = o.config.scaling as NonNullable<AgentConfig['scaling']>;
  let remoter = typeof o.remoter === 'function' ? o.remoter(cloud) : cloud === o.config.cloud ? o.remoter : undefined;
  return new Scaler({
    pool: o.config.pool,
    cloud,
    min: bounds.min,
    max: bounds.max,
    config,
    deadAfter: timing.deadAfter,
    replaceAfter: timing.replaceAfter,
    ...(o.leaseHeldFor ? { leaseHeldFor: o.leaseHeldFor } : {}),
    ...(o.inherited ? { inherited: o.inherited } : {}),
    ...(o.viewLag ? { viewLag: o.viewLag } : {}),
    remoter: () => {
      // Loaded on first use: only a leader needs a provider, and provider SDKs (AWS, ssh2) cost
      // an idle follower tens of MB and seconds of startup.
      remoter ??= lazyRemoter(async () => {
        const { loadRemoter: createRemoter } = await import('../../shared/remoter/load.ts');
        // The node's own pool key: a remoter defaulting to <stateDir>/pool.key would mint a new one.
        return createRemoter({
          pool: s.definition,
          cloud,
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
