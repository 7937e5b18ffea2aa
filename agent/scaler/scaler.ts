import type { InstanceRecord, RemoterBase } from '../../shared/remoter/types.ts';
import type { ScalingConfig } from '../../shared/scaling/config.ts';
import { evaluateRule } from '../../shared/scaling/evaluate.ts';
import type { Rule } from '../../shared/scaling/rule.ts';
import { Sustain } from '../../shared/scaling/sustain.ts';
import type { MemberView, ScalingDecision } from '../../shared/wire/cluster.ts';
import type { Intent, Outcome, Retire } from '../../shared/wire/heartbeat.ts';
import type { ActionLedger } from './ledger.ts';
import { decide, type PolicyDecision, type RuleStatus } from './policy.ts';
import { clientToken } from './token.ts';
import { chooseVictims } from './victims.ts';

export type DecisionRecord = ScalingDecision;

export type ControlDraft =
  | Omit<Intent, 'seq' | 'peerId'>
  | Omit<Outcome, 'seq' | 'peerId'>
  | Omit<Retire, 'seq' | 'peerId'>;

/** How often a leader reconciles its provider again within a term (ms). */
const RECONCILE_EVERY = 30_000;

export interface ScalerDeps {
  pool: string;
  cloud: string;
  min: number;
  max: number;
  config: ScalingConfig;
  /** The membership's deadAfter (ms): a dead member's instance goes after deadAfter + deadGrace of silence. */
  deadAfter: number;
  /**
   * A dead member whose instance the provider still reports running (a partition, a hung agent)
   * is replaced only after this long (ms): gossip silence alone must not cost a healthy machine.
   */
  replaceAfter: number;
  /**
   * How long this node has held its quorum lease without a break (ms). Unreachability seen while
   * it had no quorum (the minority side of a partition) is no evidence: a leader replaces a
   * running instance only after holding its lease for replaceAfter too, so a minority leader that
   * takes over at the heal does not act on the stale view it had during the split.
   */
  leaseHeldFor?: () => number;
  rules: { expand: Rule | null; contract: Rule | null };
  /** Created on first use (only a leader needs the provider). */
  remoter: () => RemoterBase;
  ledger: ActionLedger;
  now: () => number;
  /** The term this node leads right now, or null. Checked again before every provider call. */
  leads: () => number | null;
  selfPeerId: () => string;
  selfInstanceId: () => string;
  /** Every member of the pool including self. */
  members: () => MemberView[];
  publish: (msg: ControlDraft) => Promise<void>;
  /** The leader is the only possible victim: it hands leadership over and retires itself. */
  retireSelf: (reason: string, term: number) => void;
  onDecision: (d: DecisionRecord) => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
}

/** A launch returned by the provider but not listed yet (eventual consistency): still counted. */
interface Unconfirmed {
  id: string;
  at: number;
}

/**
 * The scaler shell: evaluates the cloud's rules on every node (so a new leader starts with warm
 * sustain timers), and — on the leader only — counts instances from the provider, decides
 * (policy.ts), announces intent, acts through the remoter base with a term-derived client token,
 * and announces the outcome. One action at a time.
 */
export class Scaler {
  readonly #d: ScalerDeps;
  readonly #expand: Sustain | null;
  readonly #contract: Sustain | null;
  readonly #decisions: DecisionRecord[] = [];
  readonly #unconfirmed: Unconfirmed[] = [];
  readonly #retiring = new Map<string, number>();
  /**
   * Instances of this cloud seen as members (kept on every node, so a new leader has it): when
   * last heard from (epoch ms) and whether they had left. A member reaped from the view is not
   * an instance that "never joined": it is replaced like a dead one, after replaceAfter.
   */
  readonly #seen = new Map<string, { at: number; left: boolean }>();
  #status: { expand: RuleStatus; contract: RuleStatus } = { expand: idle(), contract: idle() };
  #busy = false;
  #lastCount: number | null = null;
  #lastNone = '';
  #nextAction = 0;
  #actionTerm = 0;
  /** The term whose leader start already reconciled the provider, and when it last did. */
  #reconciledTerm: number | null = null;
  #reconciledAt = 0;

  constructor(deps: ScalerDeps) {
    this.#d = deps;
    this.#expand = deps.rules.expand ? new Sustain(deps.rules.expand.sustainMs) : null;
    this.#contract = deps.rules.contract ? new Sustain(deps.rules.contract.sustainMs) : null;
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
    this.#remember(now);
    const alive = this.#cloudMembers().filter((m) => m.state === 'alive');
    const metrics = alive.map((m) => m.metrics);
    this.#status = {
      expand: this.#evaluate(this.#d.rules.expand, this.#expand, metrics, now),
      contract: this.#evaluate(this.#d.rules.contract, this.#contract, metrics, now),
    };
    const term = this.#d.leads();
    if (term === null || this.#busy) return;
    this.#busy = true;
    try {
      await this.#lead(term, now);
    } catch (err) {
      this.#record({ at: now, term, action: 'none', count: 0, reason: `error: ${(err as Error).message}` });
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
    const rule = (r: Rule | null, s: RuleStatus) =>
      r && {
        text: r.text,
        sustainMs: r.sustainMs,
        holds: s.evaluation?.holds ?? false,
        terms: s.evaluation?.terms ?? [],
        sustain: s.sustain,
      };
    return {
      cloud,
      leading: this.#d.leads() !== null,
      bounds: { min: this.#d.min, max: this.#d.max },
      instances: this.#lastCount,
      rules: {
        expand: rule(this.#d.rules.expand, this.#status.expand),
        contract: rule(this.#d.rules.contract, this.#status.contract),
      },
      cooldowns: { expand: cooldown('expand'), contract: cooldown('contract') },
      pending: ledger
        .entries()
        .filter((e) => e.intent.cloud === cloud && !e.outcome && now - e.intent.at < config.intentTimeout)
        .map((e) => e.intent),
      retiring: [...this.#retiring.keys()],
      decisions: [...this.#decisions],
    };
  }

  async #lead(term: number, now: number): Promise<void> {
    const d = this.#d;
    if (!(await this.#reconcile(term, now))) return;
    let listed: InstanceRecord[];
    try {
      listed = (await d.remoter().list({ pool: d.pool, cloud: d.cloud })).filter(
        (i) => i.state === 'pending' || i.state === 'running',
      );
    } catch (err) {
      this.#record({
        at: now,
        term,
        action: 'none',
        count: 0,
        reason: `provider list failed: ${(err as Error).message}`,
      });
      return;
    }
    const count = this.#count(listed, now);
    this.#lastCount = count;

    const orphans = this.#orphans(listed, now);
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

    const inFlight = d.ledger.inFlight(d.cloud, now, d.config.intentTimeout);
    const decision = decide({
      now,
      count,
      min: d.min,
      max: d.max,
      expandBy: d.config.expandBy,
      contractBy: d.config.contractBy,
      expand: this.#status.expand,
      contract: this.#status.contract,
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
      retiring: new Set(this.#retiring.keys()),
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
      this.#record({
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

  /**
   * Once per term, before the first listing: settles what an earlier leader's launches cut short
   * left behind (adopted, cleared, strays ended). False when it failed: this step does not act,
   * and the next one tries again.
   */
  async #reconcile(term: number, now: number): Promise<boolean> {
    const d = this.#d;
    // Again every RECONCILE_EVERY within a term: a stray that appeared after the first pass (an
    // agent a crashed leader spawned just before it died) would otherwise run until the next term.
    const again = this.#reconciledTerm === term;
    if (again && now - this.#reconciledAt < RECONCILE_EVERY) return true;
    const remoter = d.remoter();
    if (!remoter.reconcile) {
      this.#reconciledTerm = term;
      return true;
    }
    try {
      const r = await remoter.reconcile({ pool: d.pool, cloud: d.cloud });
      if (d.leads() !== term) return false;
      this.#reconciledTerm = term;
      this.#reconciledAt = now;
      const found = r.adopted.length + r.cleared.length + r.strays.length;
      if (again && !found) return true;
      const list = (what: string, ids: string[]) => (ids.length ? [`${what} ${ids.join(', ')}`] : []);
      const detail = [...list('adopted', r.adopted), ...list('cleared', r.cleared), ...list('ended strays', r.strays)];
      this.#record({
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
      if (this.#lastNone !== reason) {
        this.#lastNone = reason;
        this.#record({ at: now, term, action: 'none', count: 0, reason, result: 'failed' });
      }
      return false;
    }
  }

  /** Intent → (drain) → provider call → outcome, fenced by the term before each provider call. */
  async #act(term: number, kind: Intent['kind'], n: number, targets: string[], reason: string, count: number) {
    const d = this.#d;
    const at = d.now();
    const action = this.#allocateAction(term);
    const token = clientToken(d.pool, d.cloud, term, action);
    const intent: Omit<Intent, 'seq' | 'peerId'> = {
      v: 2,
      type: 'intent',
      term,
      cloud: d.cloud,
      action,
      kind,
      count: n,
      token,
      targets,
      reason,
      at,
    };
    d.ledger.intent({ ...intent, seq: 0, peerId: d.selfPeerId() });
    await d.publish(intent);
    d.log('scaling-intent', { kind, count: n, token, term, targets, reason });

    let ok = false;
    let instanceIds: string[] = [];
    let error: string | undefined;
    try {
      if (kind === 'contract') await this.#drain(term, targets, token);
      if (d.leads() !== term) throw new StaleTermError(`term ${term} is no longer ours: action fenced`);
      if (kind === 'expand') {
        const tags = { 'poolparty:term': String(term), 'poolparty:action': String(action) };
        const launched = await d.remoter().launch({ cloud: d.cloud, count: n, clientToken: token, tags });
        instanceIds = launched.map((i) => i.id);
        for (const id of instanceIds) this.#unconfirmed.push({ id, at: d.now() });
      } else {
        await d.remoter().terminate(targets);
        instanceIds = targets;
      }
      ok = true;
    } catch (err) {
      error = (err as Error).message;
    }
    const outcome: Omit<Outcome, 'seq' | 'peerId'> = {
      v: 2,
      type: 'outcome',
      term,
      cloud: d.cloud,
      action,
      kind,
      token,
      ok,
      instanceIds,
      at: d.now(),
      ...(error ? { error } : {}),
    };
    d.ledger.outcome({ ...outcome, seq: 0, peerId: d.selfPeerId() });
    await d.publish(outcome).catch(() => undefined);
    for (const id of targets) this.#retiring.delete(id);
    this.#lastNone = '';
    this.#record({
      at,
      term,
      action: kind,
      count: n,
      reason,
      instances: count,
      token,
      ...(targets.length ? { targets } : {}),
      result: ok ? 'ok' : 'failed',
      ...(error ? { error } : {}),
    });
  }

  /** Asks each victim to drain and leave, then waits (bounded) until they are gone from the view. */
  async #drain(term: number, instanceIds: string[], token: string): Promise<void> {
    const d = this.#d;
    for (const id of instanceIds) this.#retiring.set(id, d.now());
    const stillAlive = () =>
      this.#cloudMembers().filter((m) => instanceIds.includes(m.instanceId) && m.state === 'alive');
    const ask = async (members: MemberView[]) => {
      for (const m of members) {
        if (m.peerId !== d.selfPeerId())
          await d.publish({ v: 2, type: 'retire', term, target: m.peerId, token, at: d.now() });
      }
    };
    await ask(stillAlive());
    const deadline = d.now() + d.config.drainTimeout;
    // Bounded by both clocks: the injected one and a count of 100 ms polls. The request is
    // repeated every second: a node that joined moments ago may not be in the mesh yet.
    for (let polls = 1; polls <= Math.ceil(d.config.drainTimeout / 100) && d.now() < deadline; polls++) {
      const alive = stillAlive();
      if (alive.length === 0 || d.leads() !== term) return;
      if (polls % 10 === 0) await ask(alive);
      await new Promise((r) => setTimeout(r, 100));
    }
    d.log('drain-timeout', { instances: instanceIds, timeoutMs: d.config.drainTimeout });
  }

  #count(listed: InstanceRecord[], now: number): number {
    const ids = new Set(listed.map((i) => i.id));
    // Forget launches once listed, or after joinTimeout (then the orphan rule owns them).
    for (let i = this.#unconfirmed.length - 1; i >= 0; i--) {
      const u = this.#unconfirmed[i] as Unconfirmed;
      if (ids.has(u.id) || now - u.at > this.#d.config.joinTimeout) this.#unconfirmed.splice(i, 1);
    }
    return listed.length + this.#unconfirmed.length;
  }

  #orphans(listed: InstanceRecord[], now: number): Array<{ id: string; why: string }> {
    const { config } = this.#d;
    const members = new Map(this.#cloudMembers().map((m) => [m.instanceId, m]));
    const out: Array<{ id: string; why: string }> = [];
    for (const inst of listed) {
      if (this.#retiring.has(inst.id)) continue;
      const m = members.get(inst.id);
      const seen = this.#seen.get(inst.id);
      if (!m && seen) {
        // Reaped from the view after it died or left: the rules below, from when it was last heard.
        const silent = now - seen.at;
        if (seen.left ? silent <= config.drainTimeout : silent <= this.#d.deadAfter + config.deadGrace) continue;
        if (!seen.left && inst.state === 'running' && (silent < this.#d.replaceAfter || !this.#evidenced())) continue;
        out.push({ id: inst.id, why: `${inst.id} gone from the view, last heard ${Math.round(silent / 1000)}s ago` });
      } else if (!m && now - inst.launchedAt > config.joinTimeout) {
        // A leader that has not watched it since its launch (with a quorum) cannot tell "never
        // joined" from "joined, then cut off and reaped": for a running instance, wait replaceAfter.
        const heldFor = this.#d.leaseHeldFor?.() ?? Number.POSITIVE_INFINITY;
        const watchedSinceLaunch = now - heldFor <= inst.launchedAt;
        if (inst.state === 'running' && !watchedSinceLaunch && heldFor < this.#d.replaceAfter) continue;
        out.push({ id: inst.id, why: `${inst.id} never joined within ${config.joinTimeout / 1000}s` });
      } else if (m?.state === 'dead' && m.lastSeenMs > this.#d.deadAfter + config.deadGrace) {
        // The provider still runs it: only replace after replaceAfter (I2 in ARCHITECTURE.md).
        if (inst.state === 'running' && (m.lastSeenMs < this.#d.replaceAfter || !this.#evidenced())) continue;
        out.push({ id: inst.id, why: `${inst.id} dead for ${Math.round(m.lastSeenMs / 1000)}s` });
      } else if (m?.state === 'left' && m.lastSeenMs > config.drainTimeout) {
        // Retired (or stopped) agents whose instance still runs: not part of the pool any more.
        out.push({ id: inst.id, why: `${inst.id} left the pool ${Math.round(m.lastSeenMs / 1000)}s ago` });
      }
    }
    return out;
  }

  /** Whether this leader's view of who is unreachable was gathered with a quorum for replaceAfter. */
  #evidenced(): boolean {
    return (this.#d.leaseHeldFor?.() ?? Number.POSITIVE_INFINITY) >= this.#d.replaceAfter;
  }

  /** Notes when each member of this cloud was last heard from; forgets what is long gone (bounded). */
  #remember(now: number): void {
    for (const m of this.#cloudMembers()) {
      const at = now - m.lastSeenMs;
      const cur = this.#seen.get(m.instanceId);
      if (!cur || cur.at <= at) this.#seen.set(m.instanceId, { at, left: m.state === 'left' });
    }
    const horizon = now - 2 * Math.max(this.#d.replaceAfter, this.#d.config.joinTimeout);
    for (const [id, e] of this.#seen) if (e.at < horizon) this.#seen.delete(id);
    for (const id of this.#seen.keys()) {
      if (this.#seen.size <= MAX_SEEN) break;
      this.#seen.delete(id);
    }
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

  #allocateAction(term: number): number {
    if (this.#actionTerm !== term) {
      this.#actionTerm = term;
      this.#nextAction = this.#d.ledger.maxAction(term);
    }
    this.#nextAction = Math.max(this.#nextAction, this.#d.ledger.maxAction(term)) + 1;
    return this.#nextAction;
  }

  #evaluate(rule: Rule | null, sustain: Sustain | null, metrics: MemberView['metrics'][], now: number): RuleStatus {
    if (!rule || !sustain) return idle();
    const evaluation = evaluateRule(rule, metrics);
    return { evaluation, sustain: sustain.update(evaluation.holds, now) };
  }

  #recordNone(at: number, term: number, decision: PolicyDecision, count: number): void {
    // "Nothing to do" is recorded when its reason changes, not every second.
    const key = `${decision.blocked ?? ''}:${decision.reason.replace(/[\d.]+s/g, '')}`;
    if (key === this.#lastNone) return;
    this.#lastNone = key;
    this.#record({
      at,
      term,
      action: 'none',
      count: 0,
      reason: decision.reason,
      instances: count,
      ...(decision.blocked ? { blocked: decision.blocked } : {}),
    });
  }

  #record(r: Omit<DecisionRecord, 'cloud' | 'instances'> & { instances?: number }): void {
    const record: DecisionRecord = { ...r, cloud: this.#d.cloud, instances: r.instances ?? this.#lastCount ?? 0 };
    this.#decisions.push(record);
    if (this.#decisions.length > 50) this.#decisions.shift();
    this.#d.onDecision(record);
  }
}

/** Instances a scaler remembers as once seen (far above any cloud's max). */
const MAX_SEEN = 10_000;

export class StaleTermError extends Error {
  override name = 'StaleTermError';
}

function idle(): RuleStatus {
  return { evaluation: null, sustain: { since: null, heldForMs: 0, satisfied: false } };
}
