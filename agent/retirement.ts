import type { AgentConfig } from '../shared/wire/agent-config.ts';
import type { BundleManager } from './bundle/manager.ts';
import { runHook } from './configure/hooks.ts';
import type { EventHub } from './events.ts';
import type { Leadership } from './leadership.ts';

export interface RetirementOptions {
  config: AgentConfig;
  self: () => string;
  now: () => number;
  leadership: Leadership;
  bundles: BundleManager;
  events: EventHub;
  log: (msg: string, fields: Record<string, unknown>) => void;
  /** Publishes our record now (it carries `retiring`, so a leader hands over). */
  announce: () => void;
  /** Leaves the membership gracefully. */
  leave: () => Promise<void>;
}

/**
 * Drains this node before its instance is terminated: before-terminate hooks, hand-over of
 * leadership, then a graceful leave while the process stays up (a supervisor like systemd would
 * otherwise restart it) until the provider ends the instance. The first request wins.
 */
export class Retirement {
  readonly #o: RetirementOptions;
  #retired = false;

  constructor(opts: RetirementOptions) {
    this.#o = opts;
  }

  get retired(): boolean {
    return this.#retired;
  }

  async retire(reason: string, term: number): Promise<void> {
    const o = this.#o;
    if (this.#retired || o.leadership.retiring) return;
    o.leadership.retire();
    o.events.emit({ type: 'retiring', peerId: o.self(), instanceId: o.config.instanceId, term, at: o.now(), reason });
    // scaling.beforeTerminate first, then the configuration's hooks.beforeTerminate.
    const hook = o.config.scaling?.config.beforeTerminate;
    if (hook) {
      const r = await runHook(hook, { env: { ...process.env, POOLPARTY_HOOK: 'beforeTerminate' } });
      o.log('before-terminate-hook', { ...r });
    }
    await o.bundles.runHooks('beforeTerminate');
    o.announce();
    this.#retired = true;
    await o.leave();
  }
}
