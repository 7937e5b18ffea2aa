import type { PoolDefinition } from '../config/schema.ts';

/** What the local remoter base (local.ts) is built with: its tunables and options. */

export interface LocalRemoterTunables {
  /** How long terminate waits after SIGTERM before SIGKILL (ms). Default 5000: an agent's
   * graceful leave takes leaveGrace (500ms) plus shutdown; longer only slows `terminate`. */
  terminateGrace: number;
  /** How often terminate checks whether processes exited (ms). Default 100. */
  terminatePoll: number;
  /** Give up waiting for the state lock after this long (ms). Default 10000. */
  lockTimeout: number;
  /** Retry interval while another process holds the lock (ms). Default 25. */
  lockPoll: number;
  /** A lock file without a readable pid older than this is stale (ms). Default 5000. */
  lockStaleAfter: number;
  /** Most loopback addresses examined per launch (count). Default 1024. */
  maxAddressScan: number;
  /** Terminated records kept in instances.json (count). Default 50. */
  keepTerminated: number;
}

export const LOCAL_REMOTER_DEFAULTS: LocalRemoterTunables = {
  terminateGrace: 5000,
  terminatePoll: 100,
  lockTimeout: 10_000,
  lockPoll: 25,
  lockStaleAfter: 5000,
  maxAddressScan: 1024,
  keepTerminated: 50,
};

export interface LocalRemoterOptions extends Partial<LocalRemoterTunables> {
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
  const out: Partial<LocalRemoterTunables> = {};
  for (const key of Object.keys(LOCAL_REMOTER_DEFAULTS) as (keyof LocalRemoterTunables)[]) {
    if (opts[key] !== undefined) out[key] = opts[key];
  }
  return out;
}
