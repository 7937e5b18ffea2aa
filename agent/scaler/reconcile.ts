import type { DecisionLog } from './decisions.ts';
import type { ScalerDeps } from './deps.ts';

/** How often a leader reconciles its provider again within a term (ms). */
const RECONCILE_EVERY = 30_000;

type ReconcileDeps = Pick<ScalerDeps, 'pool' | 'cloud' | 'remoter' | 'leads' | 'log'>;

/**
 * A leader's reconciliation with its provider: at the start of its term, before the first
 * listing, and every RECONCILE_EVERY after, it settles what an earlier leader's launches cut short
 * left behind (adopted, cleared, strays ended).
 */
export class Reconciliation {
  readonly #d: ReconcileDeps;
  readonly #decisions: DecisionLog;
  /** The term whose leader start already reconciled the provider, and when it last did. */
  #term: number | null = null;
  #at = 0;

  constructor(deps: ReconcileDeps, decisions: DecisionLog) {
    this.#d = deps;
    this.#decisions = decisions;
  }

  /** Reconciles when due. False when it failed: this step does not act, and the next one tries again. */
  async due(term: number, now: number): Promise<boolean> {
    const d = this.#d;
    // Again every RECONCILE_EVERY within a term: a stray that appeared after the first pass (an
    // agent a crashed leader spawned just before it died) would otherwise run until the next term.
    const again = this.#term === term;
    if (again && now - this.#at < RECONCILE_EVERY) return true;
    const remoter = d.remoter();
    if (!remoter.reconcile) {
      this.#term = term;
      return true;
    }
    try {
      const r = await remoter.reconcile({ pool: d.pool, cloud: d.cloud });
      if (d.leads() !== term) return false;
      this.#term = term;
      this.#at = now;
      const found = r.adopted.length + r.cleared.length + r.strays.length;
      if (again && !found) return true;
      const list = (what: string, ids: string[]) => (ids.length ? [`${what} ${ids.join(', ')}`] : []);
      const detail = [...list('adopted', r.adopted), ...list('cleared', r.cleared), ...list('ended strays', r.strays)];
      this.#decisions.record({
        at: now,
        term,
        action: 'none',
        count: 0,
        reason: found
          ? `reconciled${again ? '' : ' on leader start'}: ${detail.join('; ')}`
          : 'reconciled on leader start: nothing left over',
        ...(r.strays.length ? { targets: [...r.strays] } : {}),
      });
      if (found) d.log('scaling-reconciled', { term, ...r });
      return true;
    } catch (err) {
      // Recorded when the error changes, not on every step that retries it.
      const reason = `provider reconcile failed: ${(err as Error).message}`;
      this.#decisions.recordOnChange(reason, { at: now, term, action: 'none', count: 0, reason, result: 'failed' });
      return false;
    }
  }
}
