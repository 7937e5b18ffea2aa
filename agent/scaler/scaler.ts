import type { InstanceRecord } from '../../shared/remoter/types.ts';
import { idleRules, type RuleStatuses, rulesSnapshot } from '../../shared/scaling/rule-status.ts';
import {
  initialScalingState,
  type ScalingState,
  type StepDecision,
  type StepResult,
  stepScaling,
} from '../../shared/scaling/step.ts';
import { chooseVictims } from '../../shared/scaling/victims.ts';
import type { RuleWindow } from '../../shared/scaling/windows.ts';
import type { MemberView } from '../../shared/wire/cluster.ts';
import { ActionRunner } from './actions.ts';
import { WindowCarry } from './carry.ts';
import { DecisionLog } from './decisions.ts';
import type { ScalerDeps } from './deps.ts';
import { listLive } from './listing.ts';
import { stepMembers } from './members.ts';
import { OrphanWatch } from './orphans.ts';
import { Reconciliation } from './reconcile.ts';

export { StaleTermError } from './actions.ts';
export type { ControlDraft, DecisionRecord, ScalerDeps } from './deps.ts';

/**
 * The scaler shell: steps the cloud's scaling state on every node (so a new leader starts with
 * warm sustain timers), and — on the leader only — counts instances from the provider, decides
 * (stepScaling in shared/scaling/step.ts, the simulator's code too), announces intent, acts
 * through the remoter base with a term-derived client token (actions.ts), and announces the
 * outcome. One action at a time.
 */
export class Scaler {
  readonly #d: ScalerDeps;
  #state: ScalingState = initialScalingState();
  #rules: RuleStatuses = idleRules();
  /** What the last step saw, for GET /scaling. */
  #last: Pick<StepResult, 'bounds' | 'counted'> & { policies: StepDecision['policies'] };
  /** Whether this round has stepped the scaling state yet (exactly once per round). */
  #stepped = false;
  /** When the scaling state was last stepped. */
  #steppedAt = 0;
  readonly #carry: WindowCarry;
  readonly #decisions: DecisionLog;
  readonly #orphans: OrphanWatch;
  readonly #actions: ActionRunner;
  readonly #reconciliation: Reconciliation;
  #busy = false;
  #lastCount: number | null = null;
  /** The term #lastCount was taken in. */
  #countTerm: number | null = null;
  /** The term this scaler last found itself acting in: since when its lease held, its first step in it. */
  #acting: { term: number; leaseSince: number; steppedAt: number } | null = null;

  constructor(deps: ScalerDeps) {
    this.#d = deps;
    this.#last = { bounds: { min: deps.min, max: deps.max }, counted: { warming: [], stale: 0 }, policies: [] };
    this.#decisions = new DecisionLog(deps.cloud, () => this.#lastCount, deps.onDecision);
    this.#orphans = new OrphanWatch(deps);
    this.#actions = new ActionRunner(deps, () => this.#cloudMembers());
    this.#reconciliation = new Reconciliation(deps, this.#decisions);
    this.#carry = new WindowCarry(deps);
  }

  get busy(): boolean {
    return this.#busy;
  }

  /** How often this cloud's rules are evaluated (its scaling `interval`, ms). */
  get interval(): number {
    return this.#d.config.interval;
  }

  /** One evaluation round; call every config.interval. Never throws. */
  async step(): Promise<void> {
    const now = this.#d.now();
    this.#stepped = false;
    this.#orphans.remember(this.#cloudMembers(), now);
    const term = this.#d.leads();
    if (term !== null && this.#acting?.term !== term)
      this.#acting = { term, leaseSince: now - (this.#d.leaseHeldFor?.() ?? 0), steppedAt: now };
    const rules = this.#carry.timers(this.#state.rules, term !== null, now);
    if (rules !== this.#state.rules) this.#state = { ...this.#state, rules };
    if (term === null || this.#busy) {
      this.#step(null);
      return;
    }
    this.#busy = true;
    try {
      await this.#lead(term, now);
    } catch (err) {
      // A failure is an error line, and said once while it repeats, not every round.
      const reason = `error: ${(err as Error).message}`;
      this.#decisions.recordOnChange(reason, { at: now, term, action: 'none', count: 0, reason, result: 'failed' });
    } finally {
      this.#busy = false;
      if (!this.#stepped) this.#step(null);
    }
  }

  /**
   * Steps the scaling state on the members as they are now; `count` null when this round does
   * not decide (not leading, or stopped before counting). Timers advance either way.
   */
  #step(count: number | null): StepDecision & { now: number } {
    const d = this.#d;
    const now = d.now();
    const inFlight = count === null ? null : d.ledger.inFlight(d.cloud, now, d.config.intentTimeout);
    const result = stepScaling(this.#state, {
      now,
      members: stepMembers(this.#cloudMembers(), now, d.viewLag?.() ?? 0),
      count,
      bounds: { min: d.min, max: d.max },
      config: d.config,
      lastExpandAt: d.ledger.lastAt(d.cloud, 'expand'),
      lastContractAt: d.ledger.lastAt(d.cloud, 'contract'),
      inFlight: inFlight && { action: inFlight.kind === 'contract' ? 'contract' : 'expand', token: inFlight.token },
    });
    this.#state = result.state;
    this.#rules = result.rules;
    this.#last = { bounds: result.bounds, counted: result.counted, policies: result.decision.policies };
    this.#stepped = true;
    this.#steppedAt = now;
    return { ...result.decision, now };
  }

  /** This cloud's rule windows as of its last step, for the summary this node sends while it leads. */
  windows(): RuleWindow[] {
    return this.#carry.windows(this.#state.rules, this.#steppedAt, this.#d.now());
  }

  /** For GET /scaling. */
  /**
   * The count for the lease of `term`: only one taken while acting in that term. A count from an
   * earlier term can be stale high (the pool shrank under another leader since), and would keep a
   * re-elected leader from its lease for good: without the lease it never lists to correct it.
   */
  countedIn(term: number): number | null {
    return this.#countTerm === term ? this.#lastCount : null;
  }

  snapshot() {
    const now = this.#d.now();
    const { config, ledger, cloud } = this.#d;
    const cooldown = (kind: 'expand' | 'contract') => {
      const last = ledger.lastAt(cloud, kind);
      return { last, remainingMs: last === null ? 0 : Math.max(0, last + config.cooldown[kind] - now) };
    };
    return {
      cloud,
      leading: this.#d.leads() !== null,
      // The failover bench reads when the lease came and when this scaler first stepped on it.
      acting: this.#acting && { ...this.#acting },
      // In force: a schedule window's when one is.
      bounds: this.#last.bounds,
      instances: this.#lastCount,
      rules: rulesSnapshot(config, this.#rules),
      policies: this.#last.policies,
      counted: this.#last.counted,
      cooldowns: { expand: cooldown('expand'), contract: cooldown('contract') },
      pending: ledger
        .entries()
        .filter((e) => e.intent.cloud === cloud && !e.outcome && now - e.intent.at < config.intentTimeout)
        .map((e) => e.intent),
      retiring: [...this.#actions.retiring.keys()],
      decisions: this.#decisions.list(),
    };
  }

  /** Lists the cloud and keeps the count for `term`'s lease; null: failed, or the count took the lease. */
  async #list(term: number, now: number): Promise<InstanceRecord[] | null> {
    const listed = await listLive(this.#d, this.#decisions, term, now);
    if (!listed) return null;
    this.#lastCount = this.#actions.count(listed, now);
    this.#countTerm = term;
    return this.#d.leads() === term ? listed : null;
  }

  async #lead(term: number, started: number): Promise<void> {
    const d = this.#d;
    let now = started;
    // A term begun without a count of its own leases on the members it sees (a node cut off alone,
    // the others dead in its view, is a majority of one); the count may take that lease away. So
    // the first step counts before the leader-start reconcile, which may end strays (fault suite,
    // session 22: a lone minority member reconciled on such a lease).
    if (this.#countTerm !== term && d.remoter().reconcile && !(await this.#list(term, now))) return;
    if (!(await this.#reconciliation.due(term, now))) return;
    const listed = await this.#list(term, now);
    if (!listed) return;
    const count = this.#lastCount ?? 0;
    // Before deciding: an earlier leader's action the listing shows done no longer blocks this cloud.
    await this.#actions.settleListed(term, listed);

    const orphans = this.#orphans.orphans(listed, this.#cloudMembers(), this.#actions.retiring, now);
    if (orphans.length > 0) {
      await this.#act([
        term,
        'replace',
        orphans.length,
        orphans.map((o) => o.id),
        orphans.map((o) => o.why).join('; '),
        count,
      ]);
      return;
    }

    const decision = this.#step(count);
    now = decision.now;
    if (decision.action === 'none') {
      this.#recordNone(now, term, decision, count);
      return;
    }
    if (decision.action === 'expand') {
      await this.#act([term, 'expand', decision.count, [], decision.reason, count], decision);
      return;
    }
    const victims = chooseVictims(this.#victimCandidates(listed), {
      count: decision.count,
      policy: d.config.victim,
      now,
      minimumRuntime: d.config.minimumRuntime,
      leaderPeerId: d.selfPeerId(),
      retiring: new Set(this.#actions.retiring.keys()),
    });
    if (victims.victims.length === 0) {
      this.#recordNone(
        now,
        term,
        { ...decision, action: 'none', reason: `${decision.reason}, but ${victims.shortfall}` },
        count,
      );
      return;
    }
    const self = d.selfPeerId();
    const others = victims.victims.filter((v) => v.peerId !== self);
    if (others.length === 0) {
      // Never terminate ourselves mid-action: hand leadership over, drain, and let the next
      // leader terminate this instance once it has left.
      const reason = `${decision.reason}: the leader is the only eligible victim, handing over to retire`;
      this.#decisions.record({
        at: now,
        term,
        action: 'contract',
        count: 1,
        reason,
        instances: count,
        targets: [d.selfInstanceId()],
        ...why(decision),
      });
      d.retireSelf(reason, term);
      return;
    }
    const reason = victims.shortfall ? `${decision.reason} (${victims.shortfall})` : decision.reason;
    await this.#act([term, 'contract', others.length, others.map((v) => v.instanceId), reason, count], decision);
  }

  /** Runs an action and records it, with the policies that asked for it when a step did. */
  async #act(args: Parameters<ActionRunner['act']>, by?: StepDecision): Promise<void> {
    const done = await this.#actions.act(...args);
    this.#decisions.rearm();
    this.#decisions.record(by ? { ...done, ...why(by) } : done);
  }

  #victimCandidates(listed: InstanceRecord[]) {
    const ids = new Set(listed.map((i) => i.id));
    return this.#cloudMembers()
      .filter((m) => m.state === 'alive' && ids.has(m.instanceId))
      .map((m) => ({
        instanceId: m.instanceId,
        peerId: m.peerId,
        startedAt: m.startedAt,
        load: m.metrics.load ?? null,
      }));
  }

  #cloudMembers(): MemberView[] {
    return this.#d.members().filter((m) => m.cloud === this.#d.cloud);
  }

  #recordNone(at: number, term: number, decision: StepDecision, count: number): void {
    // "Nothing to do" is recorded when its reason changes, not every second (nor every time a
    // metric's value in it moves).
    const key = `${decision.blocked ?? ''}:${decision.reason.replace(/\d+(\.\d+)?/g, '')}`;
    this.#decisions.recordOnChange(key, {
      at,
      term,
      action: 'none',
      count: 0,
      reason: decision.reason,
      instances: count,
      ...(decision.blocked ? { blocked: decision.blocked } : {}),
      ...why(decision),
    });
  }
}

/** The deciding policy and every policy's verdict, as a decision record carries them. */
function why(d: StepDecision): { policy?: string; policies: StepDecision['policies'] } {
  return d.policy ? { policy: d.policy, policies: d.policies } : { policies: d.policies };
}
