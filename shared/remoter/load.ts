import { poolKeyFile, resolveAgentConfig } from '../config/resolve.ts';
import type { Ec2RemoterOptions } from './ec2.ts';
import type { LocalRemoterOptions } from './local.ts';
import { appendSeeds, bootstrapPeers, otherCloudSeeds } from './pool-seeds.ts';
import type { SshRemoterOptions } from './ssh.ts';
import type { InstanceRecord, LaunchContext, RemoterBase } from './types.ts';
import { RemoterError } from './types.ts';
import type { VsphereRemoterOptions } from './vsphere.ts';

/**
 * Choosing and building a cloud's remoter base without loading the other providers: only type
 * imports of ec2.ts, local.ts and ssh.ts here. `loadRemoter` imports the one provider module a
 * cloud uses when it is called, so an agent (which calls it only once it leads) never loads the
 * AWS SDK or ssh2 for a provider its cloud does not use. index.ts's synchronous `createRemoter`
 * (the CLI's) passes all three factories, already loaded.
 */

export { bootstrapPeers, EC2_BOOTSTRAP_PEERS } from './pool-seeds.ts';

export interface RemoterContext extends LaunchContext {
  /** Provider-specific extras (local: agentBin, grace periods…). */
  local?: Partial<Omit<LocalRemoterOptions, 'pool' | 'cloud' | 'stateDir'>>;
  /** EC2 extras (tunables such as pageSize, a ready client, a logger). */
  ec2?: Partial<Omit<Ec2RemoterOptions, 'pool' | 'cloud' | 'stateDir' | 'poolKeyFile' | 'bootstrap' | 'bundleHash'>>;
  /** SSH extras: the CLI's --accept-new-host-key, its progress printer, an artifact, timeouts. */
  ssh?: Pick<SshRemoterOptions, 'acceptNewHostKey' | 'onProgress' | 'artifact' | 'timeouts' | 'env' | 'bundle'>;
  /** vSphere extras (page size, task bound, a logger, the environment credentials are read from). */
  vsphere?: Partial<
    Omit<VsphereRemoterOptions, 'pool' | 'cloud' | 'stateDir' | 'poolKeyFile' | 'bootstrap' | 'bundleHash'>
  >;
  /**
   * Lists another cloud of the pool: a few of its live instances seed the agents this remoter
   * launches (pool-seeds.ts). Default: that cloud's own remoter, loaded when first asked (a leader).
   */
  listCloud?: (cloud: string) => Promise<InstanceRecord[]>;
}

/** The constructor of each provider's remoter base; `buildRemoter` calls the cloud's one only. */
export interface RemoterFactories {
  local: (opts: LocalRemoterOptions) => RemoterBase;
  ec2: (opts: Ec2RemoterOptions) => RemoterBase;
  ssh: (opts: SshRemoterOptions) => RemoterBase;
  vsphere: (opts: VsphereRemoterOptions) => RemoterBase;
}

type Provider = keyof RemoterFactories;

function cloudUsing(ctx: RemoterContext) {
  const cloud = ctx.pool.clouds[ctx.cloud];
  if (!cloud) throw new RemoterError(`pool '${ctx.pool.name}' has no cloud '${ctx.cloud}'`);
  return cloud.using;
}

/** The cloud's `using.provider`, checked. */
export function remoterProvider(ctx: RemoterContext): Provider {
  const provider = (cloudUsing(ctx) as { provider: string }).provider;
  if (provider === 'local' || provider === 'ec2' || provider === 'ssh' || provider === 'vsphere') return provider;
  throw new RemoterError(`unknown provider '${provider}'`);
}

/** The remoter base of a cloud, chosen by its `using.provider`, loading only that provider's module. */
export async function loadRemoter(ctx: RemoterContext): Promise<RemoterBase> {
  switch (remoterProvider(ctx)) {
    case 'local':
      return buildRemoter(ctx, { local: (await import('./local.ts')).createLocalRemoter });
    case 'ec2':
      return buildRemoter(ctx, { ec2: (await import('./ec2.ts')).createEc2Remoter });
    case 'ssh':
      return buildRemoter(ctx, { ssh: (await import('./ssh.ts')).createSshRemoter });
    case 'vsphere':
      return buildRemoter(ctx, { vsphere: (await import('./vsphere.ts')).createVsphereRemoter });
  }
}

/** The remoter base of a cloud, built with its provider's factory (which must be among `factories`). */
export function buildRemoter(ctx: RemoterContext, factories: Partial<RemoterFactories>): RemoterBase {
  const provider = remoterProvider(ctx);
  const using = cloudUsing(ctx);
  const factory = <P extends Provider>(p: P): RemoterFactories[P] => {
    const f = factories[p];
    if (!f) throw new RemoterError(`provider '${p}' is not loaded`);
    return f as RemoterFactories[P];
  };
  // The pool's clouds this provider does not list: their live instances seed new agents too.
  const log = ctx.ec2?.log ?? ctx.vsphere?.log;
  const others = otherCloudSeeds(ctx.pool, ctx.cloud, ctx.listCloud ?? listThrough(ctx), {
    ...(log ? { warn: (msg, fields) => log.warn(msg, { ...fields, launching: ctx.cloud }) } : {}),
  });
  switch (using.provider) {
    case 'local': {
      const seeds: { now: readonly string[] } = { now: [] };
      const opts: LocalRemoterOptions = {
        ...ctx.local,
        pool: ctx.pool,
        cloud: ctx.cloud,
        stateDir: ctx.stateDir,
        ...(ctx.bundleHash !== undefined ? { bundleHash: ctx.bundleHash } : {}),
        ...(others ? { otherSeeds: () => seeds.now } : {}),
      };
      const local = factory('local')(opts);
      return others ? withSeedsFetched(local, others, seeds) : local;
    }
    case 'ec2':
    case 'vsphere': {
      // The bootstrap default lists through the remoter itself, so it is created first.
      let remoter: RemoterBase | undefined;
      const own = async () => (remoter ? bootstrapPeers(ctx.pool, await remoter.list({ pool: ctx.pool.name })) : []);
      const peers = others ? async () => appendSeeds(await own(), await others()) : own;
      const make = using.provider === 'ec2' ? factory('ec2') : factory('vsphere');
      remoter = make({
        ...(using.provider === 'ec2' ? ctx.ec2 : ctx.vsphere),
        pool: ctx.pool,
        cloud: ctx.cloud,
        stateDir: ctx.stateDir,
        poolKeyFile: ctx.poolKeyFile ?? poolKeyFile(ctx.stateDir),
        bootstrap: ctx.bootstrap ?? peers,
        ...(ctx.bundleHash !== undefined ? { bundleHash: ctx.bundleHash } : {}),
      });
      return remoter;
    }
    case 'ssh':
      // Always the laptop's remoter: agents of ssh clouds get no scaling block (resolveAgentConfig).
      return factory('ssh')({
        ...ctx.ssh,
        pool: ctx.pool.name,
        cloud: ctx.cloud,
        using,
        stateDir: ctx.stateDir,
        agentConfig: (rt) => resolveAgentConfig(ctx.pool, ctx.cloud, rt),
        clouds: Object.fromEntries(Object.entries(ctx.pool.clouds).map(([n, c]) => [n, c.using.provider])),
      });
    default:
      throw new RemoterError(`unknown provider '${provider}'`);
  }
}

/** Lists another cloud through its own remoter, built once per cloud on first use (a leader's default). */
function listThrough(ctx: RemoterContext): (cloud: string) => Promise<InstanceRecord[]> {
  const built = new Map<string, Promise<RemoterBase>>();
  return async (cloud) => {
    let r = built.get(cloud);
    if (!r) {
      r = loadRemoter({ ...ctx, cloud, bootstrap: [] });
      built.set(cloud, r);
    }
    return (await r).list({ pool: ctx.pool.name, cloud });
  };
}

/**
 * The local remoter with the other clouds' seeds fetched before each launch, outside the state
 * file's lock the launch takes (`seeds.now` is what local-start.ts reads under it).
 */
function withSeedsFetched(
  local: RemoterBase,
  fetch: () => Promise<string[]>,
  seeds: { now: readonly string[] },
): RemoterBase {
  return {
    provider: local.provider,
    launch: async (req) => {
      seeds.now = await fetch();
      return local.launch(req);
    },
    list: (filter) => local.list(filter),
    terminate: (ids) => local.terminate(ids),
    ...(local.reconcile ? { reconcile: local.reconcile.bind(local) } : {}),
  };
}
