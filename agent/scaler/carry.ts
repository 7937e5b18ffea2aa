import type { RuleTimers } from '../../shared/scaling/rule-status.ts';
import { inheritTimers, type RuleWindow, ruleWindows } from '../../shared/scaling/windows.ts';
import type { ScalerDeps } from './deps.ts';

type CarryDeps = Pick<ScalerDeps, 'cloud' | 'config' | 'inherited' | 'log'>;

/**
 * A cloud scaler's rule windows across a failover (issue 13): on the step it begins to act, its
 * timers start from what the previous leader's last summary said (inheritTimers), each summary at
 * most once; while it leads, its summary carries its own windows (ruleWindows).
 */
export class WindowCarry {
  readonly #d: CarryDeps;
  /** Whether the last step acted. */
  #acting = false;
  /** When the summary last inherited from came (the same one is not taken twice). */
  #taken: number | null = null;

  constructor(deps: CarryDeps) {
    this.#d = deps;
  }

  /** The timers a step starts from: `own`, or, on the step this node begins to act, the inherited ones. */
  timers(own: RuleTimers, acting: boolean, now: number): RuleTimers {
    const begins = acting && !this.#acting;
    this.#acting = acting;
    if (!begins) return own;
    const last = this.#d.inherited?.() ?? null;
    if (!last || last.at === this.#taken) return own;
    this.#taken = last.at;
    const next = inheritTimers(own, this.#d.cloud, this.#d.config, last, now);
    if (next.expand === own.expand && next.contract === own.contract) return own;
    this.#d.log('scaling-windows-inherited', {
      cloud: this.#d.cloud,
      summaryAgeMs: now - last.at,
      expandHeldMs: next.expand === null ? null : now - next.expand,
      contractHeldMs: next.contract === null ? null : now - next.contract,
    });
    return next;
  }

  /**
   * The windows this node's summary carries, as of its last step at `steppedAt`: its own while it
   * acts; before (a leader waiting for its lease), the ones it would start from, so a leader that
   * dies before acting passes its predecessor's windows on instead of its lagging view's.
   */
  windows(own: RuleTimers, steppedAt: number, now: number): RuleWindow[] {
    const d = this.#d;
    const timers = this.#acting ? own : inheritTimers(own, d.cloud, d.config, d.inherited?.() ?? null, now);
    return ruleWindows(d.cloud, d.config, timers, steppedAt);
  }
}
