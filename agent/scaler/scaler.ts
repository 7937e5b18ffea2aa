import type { InstanceRecord } from '../../shared/remoter/types.ts';
import type { MemberView } from '../../shared/wire/cluster.ts';
import { ActionRunner } from './actions.ts';
import { DecisionLog } from './decisions.ts';
import type { ScalerDeps } from './deps.ts';
import { OrphanWatch } from './orphans.ts';
import { decide, type PolicyDecision } from './policy.ts';
import { Reconciliation } from './reconcile.ts';
import { RuleWatch } from './rule-watch.ts';
import { chooseVictims } from './victims.ts';

export { StaleTermError } from './actions.ts';
export type { ControlDraft, DecisionRecord, ScalerDeps } from './deps.ts';

/**
 * The scaler shell: evaluates the cloud's rules on every node (so a new leader starts with warm
 * sustain timers), and — on the leader only — counts instances from the provider, decides
 * (policy.ts), announces intent, acts through the remoter base with a term-derived client token
 * (actions.ts), and announces the outcome. One action at a time.
 */
export class Scaler {
  readonly #d: ScalerDeps;
  readonly #rules: RuleWatch;
  readonly #decisions: DecisionLog;
  readonly #orphans: OrphanWatch;
  readonly #actions: ActionRunner;
  readonly #reconciliation: Reconciliation;
  #busy = false;
  #lastCount: number | null = null;

  constructor(deps: ScalerDeps) {
    this.#d = deps;
    this.#rules = new RuleWatch(deps.rules);
    this.#decisions = new DecisionLog(deps.cloud, () => this.#lastCount, deps.onDecision);
    this.#orphans = new OrphanWatch(deps);
    this.#actions = new ActionRunner(deps, () => this.#cloudMembers());
    this.#reconciliation = new Reconciliation(deps, this.#decisions);
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
    this.#orphans.remember(this.#cloudMembers(), now);
    const alive = this.#cloudMembers().filter((m) => m.state === 'alive');
    this.#rules.update(
      alive.map((m) => m.metrics),
      now,
    );
    const term = this.#d.leads();
    if (term === null || this.#busy) return;
    this.#busy = true;
    try {
      await this.#lead(term, now);
    } catch (err) {
      this.#decisions.record({ at: now, term, action: 'none', count: 0, reason: `error: ${(err as Error).message}` });
    } finally {
      this.#busy = false;
    }
  }

  /** For GET /scaling. */
  /** Instances counted at the last step (provider listing plus unconfirmed launches), or null. */
  get counted(): number | null {
    return this.#lastCount;
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
      bounds: { min: this.#d.min, max: this.#d.max },
      instances: this.#lastCount,
      rules: this.#rules.snapshot(),
      cooldowns: { expand: cooldown('expand'), contract: cooldown('contract') },
      pending: ledger
        .entries()
        .filter((e) => e.intent.cloud === cloud && !e.outcome && now - e.intent.at < config.intentTimeout)
        .map((e) => e.intent),
      retiring: [...this.#actions.retiring.keys()],
      decisions: this.#decisions.list(),
    };
  }

  async #lead(term: number, now: number): Promise<void> {
    const d = this.#d;
    if (!(await this.#reconciliation.due(term, now))) return;
    let listed: InstanceRecord[];
    try {
      listed = (await d.remoter().list({ pool: d.pool, cloud: d.cloud })).filter(
        (i) => i.state === 'pending' || i.state === 'running',
      );
    } catch (err) {
      this.#decisions.record({
        at: now,
        term,
        action: 'none',
        count: 0,
        reason: `provider list failed: ${(err as Error).message}`,
      });
      return;
    }
    const count = this.#actions.count(listed, now);
    this.#lastCount = count;

    const orphans = this.#orphans.orphans(listed, this.#cloudMembers(), this.#actions.retiring, now);
    if (orphans.length > 0) {
      await this.#act(
        term,
        'replace',
        orphans.length,
        orphans.map((o) => o.id),
        orphans.map((o) => o.why).join('; '),
        count,
      );
      return;
    }

    const status = this.#rules.status;
    const inFlight = d.ledger.inFlight(d.cloud, now, d.config.intentTimeout);
    const decision = decide({
      now,
      count,
      min: d.min,
      max: d.max,
      expandBy: d.config.expandBy,
      contractBy: d.config.contractBy,
      expand: status.expand,
      contract: status.contract,
      lastExpandAt: d.ledger.lastAt(d.cloud, 'expand'),
      lastContractAt: d.ledger.lastAt(d.cloud, 'contract'),
      cooldown: d.config.cooldown,
      inFlight: inFlight && { action: inFlight.kind === 'contract' ? 'contract' : 'expand', token: inFlight.token },
    });
    if (decision.action === 'none') {
      this.#recordNone(now, term, decision, count);
      return;
    }
    if (decision.action === 'expand') {
      await this.#act(term, 'expand', decision.count, [], decision.reason, count);
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
      });
      d.retireSelf(reason, term);
      return;
    }
    const reason = victims.shortfall ? `${decision.reason} (${victims.shortfall})` : decision.reason;
    await this.#act(
      term,
      'contract',
      others.length,
      others.map((v) => v.instanceId),
      reason,
      count,
    );
  }

  async #act(...args: Parameters<ActionRunner['act']>): Promise<void> {
    const done = await this.#actions.act(...args);
    this.#decisions.rearm();
    this.#decisions.record(done);
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

  #recordNone(at: number, term: number, decision: PolicyDecision, count: number): void {
    // "Nothing to do" is recorded when its reason changes, not every second.
    const key = `${decision.blocked ?? ''}:${decision.reason.replace(/[\d.]+s/g, '')}`;
    this.#decisions.recordOnChange(key, {
      at,
      term,
      action: 'none',
      count: 0,
      reason: decision.reason,
      instances: count,
      ...(decision.blocked ? { blocked: decision.blocked } : {}),
    });
  }
}
