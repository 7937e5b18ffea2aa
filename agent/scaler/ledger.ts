import { type InstanceRecord, TAG_TOKEN } from '../../shared/remoter/types.ts';
import type { Intent, Outcome } from '../../shared/wire/heartbeat.ts';

export interface LedgerEntry {
  intent: Intent;
  outcome: Outcome | null;
}

/**
 * Every member keeps the pool's recent scaling actions as announced in gossip (intents before
 * the provider call, outcomes after). Pure. When a member becomes leader it starts from this:
 * it honours the cooldowns the previous leader started and waits on intents whose outcome never
 * came (the launch may have happened before the old leader died).
 */
export class ActionLedger {
  readonly #entries = new Map<string, LedgerEntry>();
  readonly #limit: number;

  constructor(limit = 100) {
    this.#limit = limit;
  }

  intent(i: Intent): void {
    const entry = this.#entries.get(i.token);
    if (entry) entry.intent = i;
    else this.#entries.set(i.token, { intent: i, outcome: null });
    this.#trim();
  }

  outcome(o: Outcome): void {
    const entry = this.#entries.get(o.token);
    if (entry) entry.outcome = o;
    // An outcome whose intent we missed (we joined in between) still counts for cooldowns.
    else {
      const intent: Intent = {
        v: 2,
        type: 'intent',
        peerId: o.peerId,
        seq: o.seq,
        term: o.term,
        cloud: o.cloud,
        action: o.action,
        kind: o.kind,
        count: o.instanceIds.length,
        token: o.token,
        targets: [],
        reason: '(intent not seen)',
        at: o.at,
      };
      this.#entries.set(o.token, { intent, outcome: o });
    }
    this.#trim();
  }

  /** Start time of the last successful action of this kind for this cloud (cooldowns run from it). */
  lastAt(cloud: string, kind: 'expand' | 'contract'): number | null {
    let last: number | null = null;
    for (const { intent, outcome } of this.#entries.values()) {
      if (intent.cloud !== cloud || intent.kind !== kind || !outcome?.ok) continue;
      if (last === null || intent.at > last) last = intent.at;
    }
    return last;
  }

  /** The newest intent of this cloud without an outcome, younger than `timeout`. */
  inFlight(cloud: string, now: number, timeout: number): Intent | null {
    let found: Intent | null = null;
    for (const { intent, outcome } of this.#entries.values()) {
      if (intent.cloud !== cloud || outcome || now - intent.at >= timeout) continue;
      if (intent.kind === 'replace') continue;
      if (!found || intent.at > found.at) found = intent;
    }
    return found;
  }

  /** Highest action number used in `term`, so a leader continuing a term never reuses a token. */
  maxAction(term: number): number {
    let max = 0;
    for (const { intent } of this.#entries.values())
      if (intent.term === term && intent.action > max) max = intent.action;
    return max;
  }

  entries(): LedgerEntry[] {
    return [...this.#entries.values()];
  }

  #trim(): void {
    while (this.#entries.size > this.#limit) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
}

/**
 * Which actions without an outcome the provider's listing (pending and running instances) shows
 * done: an expansion whose every instance is listed under its token, a contraction none of whose
 * targets is listed. A leader killed between its provider call and its outcome left its intent in
 * flight, and the next leader waited intentTimeout (60 s) for it before acting on its cloud
 * although the launch was listed and adopted: settleMs 63 s against 22 s in the EC2 kill rounds
 * whose leader died before the answer (issue 15, 2026-12-07). A launch not listed yet still waits.
 * The leader records and announces an outcome for each (ActionRunner.settleListed), so the action
 * stays done once its instances are ended later.
 */
export function listedDone(listed: readonly InstanceRecord[]): (i: Intent) => boolean {
  const byToken = new Map<string, number>();
  for (const r of listed) {
    const token = r.tags[TAG_TOKEN];
    if (token) byToken.set(token, (byToken.get(token) ?? 0) + 1);
  }
  const ids = new Set(listed.map((r) => r.id));
  return (i) =>
    i.kind === 'expand'
      ? (byToken.get(i.token) ?? 0) >= i.count
      : i.kind === 'contract' && i.targets.length > 0 && i.targets.every((t) => !ids.has(t));
}
