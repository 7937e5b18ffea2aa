import { type InstanceRecord, TAG_TOKEN } from '../../shared/remoter/types.ts';
import type { MemberView } from '../../shared/wire/cluster.ts';
import type { Intent, Outcome } from '../../shared/wire/heartbeat.ts';
import type { DecisionDraft } from './decisions.ts';
import type { ScalerDeps } from './deps.ts';
import { listedDone } from './ledger.ts';
import { clientToken } from './token.ts';

type ActionDeps = Pick<
  ScalerDeps,
  'pool' | 'cloud' | 'config' | 'ledger' | 'now' | 'leads' | 'selfPeerId' | 'publish' | 'remoter' | 'log'
>;

/** A launch returned by the provider but not listed yet (eventual consistency): still counted. */
interface Unconfirmed {
  id: string;
  at: number;
}

export class StaleTermError extends Error {
  override name = 'StaleTermError';
}

/**
 * A leader's provider actions for one cloud: intent → (drain) → launch or terminate → outcome,
 * fenced by the term before each provider call, with a term-derived client token. Remembers the
 * launches not listed yet, so they still count against max.
 */
export class ActionRunner {
  readonly #d: ActionDeps;
  readonly #cloudMembers: () => MemberView[];
  readonly #unconfirmed: Unconfirmed[] = [];
  readonly #retiring = new Map<string, number>();
  #nextAction = 0;
  #actionTerm = 0;

  constructor(deps: ActionDeps, cloudMembers: () => MemberView[]) {
    this.#d = deps;
    this.#cloudMembers = cloudMembers;
  }

  /** Instances asked to drain by an action still under way. */
  get retiring(): ReadonlyMap<string, number> {
    return this.#retiring;
  }

  /** The provider's listing plus launches it does not list yet. */
  count(listed: InstanceRecord[], now: number): number {
    const ids = new Set(listed.map((i) => i.id));
    // Forget launches once listed, once any leader's termination of them succeeded (the ledger's
    // outcomes: a leader re-elected after another ended its launch counted it above max and
    // terminated a healthy instance, fault suite session 22), or after joinTimeout (then the
    // orphan rule owns them).
    const ended = new Set<string>();
    if (this.#unconfirmed.length > 0)
      for (const { intent, outcome } of this.#d.ledger.entries())
        if (intent.kind !== 'expand' && outcome?.ok) for (const id of outcome.instanceIds) ended.add(id);
    for (let i = this.#unconfirmed.length - 1; i >= 0; i--) {
      const u = this.#unconfirmed[i] as Unconfirmed;
      if (ids.has(u.id) || ended.has(u.id) || now - u.at > this.#d.config.joinTimeout) this.#unconfirmed.splice(i, 1);
    }
    return listed.length + this.#unconfirmed.length;
  }

  /** Runs one action to its outcome; returns the decision to record. */
  async act(
    term: number,
    kind: Intent['kind'],
    n: number,
    targets: string[],
    reason: string,
    count: number,
  ): Promise<DecisionDraft> {
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
    return {
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
    };
  }

  /**
   * Settles earlier leaders' actions that have no outcome (their leader died between the provider
   * call and the outcome) but that the listing shows done (ledger.listedDone): records an outcome
   * for each in our term and announces it, once. "Done" must outlive the listing that showed it:
   * when a later contraction or replacement ended the launched instance, the intent was in flight
   * again until intentTimeout, for this leader and for every member that led after it (EC2
   * kill-launch round 5: the third leader's cloud, below min, waited 18 s more: settle 40 s, not 22).
   * The outcome's term is ours (members count control messages only from their leader's term);
   * its token and action number name the earlier leader's action.
   */
  async settleListed(term: number, listed: InstanceRecord[]): Promise<void> {
    const d = this.#d;
    const now = d.now();
    const done = listedDone(listed);
    for (const { intent, outcome } of d.ledger.entries()) {
      if (outcome || intent.cloud !== d.cloud || intent.kind === 'replace') continue;
      if (now - intent.at >= d.config.intentTimeout || !done(intent)) continue;
      const instanceIds =
        intent.kind === 'expand'
          ? listed.filter((i) => i.tags[TAG_TOKEN] === intent.token).map((i) => i.id)
          : intent.targets;
      const settled: Omit<Outcome, 'seq' | 'peerId'> = {
        v: 2,
        type: 'outcome',
        term,
        cloud: d.cloud,
        action: intent.action,
        kind: intent.kind,
        token: intent.token,
        ok: true,
        instanceIds,
        at: now,
      };
      d.ledger.outcome({ ...settled, seq: 0, peerId: d.selfPeerId() });
      d.log('scaling-settled', { kind: intent.kind, token: intent.token, term: intent.term, instanceIds, by: term });
      await d.publish(settled).catch(() => undefined);
    }
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

  #allocateAction(term: number): number {
    if (this.#actionTerm !== term) {
      this.#actionTerm = term;
      this.#nextAction = this.#d.ledger.maxAction(term);
    }
    this.#nextAction = Math.max(this.#nextAction, this.#d.ledger.maxAction(term)) + 1;
    return this.#nextAction;
  }
}
