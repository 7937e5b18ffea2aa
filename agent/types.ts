import type { RemoterBase } from '../shared/remoter/types.ts';

/** Structured log sink (agent/main.ts provides one writing JSON lines). */
export interface AgentLog {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface AgentDeps {
  log: AgentLog;
  /** Epoch ms. */
  now?: () => number;
  /**
   * When this agent's process started (epoch ms): its age in the election (leader/claims.ts
   * `older`). Default: now(), when start() is called.
   */
  startedAt?: number;
  /**
   * Provider override (tests): the own cloud's, or one per cloud of the pool; default: each
   * cloud's remoter base from config.scaling.definition.
   */
  remoter?: RemoterBase | ((cloud: string) => RemoterBase | undefined);
}
