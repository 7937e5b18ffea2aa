import type { PoolDefinition } from '../config/schema.ts';
import type { OtherSeedsOption } from './pool-seeds.ts';
import { LOCAL_REMOTER_DEFAULTS, type LocalRemoterTunables, pickDefined } from './remoter-tunables.ts';

export { LOCAL_REMOTER_DEFAULTS, type LocalRemoterTunables };

/** What the local remoter base (local.ts) is built with: its tunables (remoter-tunables.ts) and options. */

export interface LocalRemoterOptions extends Partial<LocalRemoterTunables>, OtherSeedsOption {
  pool: PoolDefinition;
  /** The cloud this remoter launches into (its `using` must be local()). */
  cloud: string;
  /** The pool's state dir (holds pool.key and local/). */
  stateDir: string;
  /** Agent launcher script. Default: env POOLPARTY_AGENT_BIN, else <package>/bin/poolparty-agent.mjs. */
  agentBin?: string;
  /** Node binary. Default process.execPath. */
  node?: string;
  /** Environment of spawned agents. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The config bundle new agents apply at first boot (they fetch it from their peers). */
  bundleHash?: string | (() => string | undefined | Promise<string | undefined>);
  /**
   * The laptop's compiled bundle: placed in each new agent's bundle cache and named in its config,
   * so the first node of a pool applies it at first boot with no peer to pull it from. Wins over
   * bundleHash.
   */
  bundle?: () => Promise<{ sha256: string; bytes: Buffer } | undefined>;
}

/** The tunables `opts` sets, without the keys it leaves undefined (they keep their defaults). */
export function definedOnly(opts: Partial<LocalRemoterTunables>): Partial<LocalRemoterTunables> {
  return pickDefined(LOCAL_REMOTER_DEFAULTS, opts);
}
