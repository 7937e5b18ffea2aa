import {
  type BindingSource,
  bindingVerdict,
  type Claim,
  type IdentityEvidence,
  mayChange,
  takesPart,
  type Verdict,
} from './binding.ts';

export interface BindingCacheOptions {
  /** The source that vouches for a cloud's members (undefined: unchecked). */
  sourceFor: (cloud: string) => BindingSource | undefined;
  now: () => number;
  /** A verdict that may change (no record yet, instance taken, source not authoritative yet) is checked again after this (ms). */
  recheckAfter: number;
}

interface Entry {
  /** What was checked: instance, cloud and evidence; a record that changes any of them is checked again. */
  key: string;
  verdict: Verdict;
  at: number;
}

/**
 * Each member's binding verdict, checked once per claim and cached, so the per-agent cost is one
 * check per peer; the few verdicts that may change are kept apart and checked again every
 * `recheckAfter`, and a verdict bound only until its evidence expires is checked again then. A
 * tick compares the clock with the earliest expiry only, so it costs nothing per bound member.
 * An `unchecked` verdict from a source with a `revision()` (an answer that comes asynchronously,
 * binding-ec2-listing.ts) is checked again when that revision moves: one read per source per tick.
 */
export class BindingCache {
  readonly #o: BindingCacheOptions;
  readonly #entries = new Map<string, Entry>();
  /** Peers whose verdict may change (no record yet, instance taken, source not authoritative yet). */
  readonly #retry = new Set<string>();
  /** Peers bound by evidence that expires, and when. */
  readonly #expiring = new Map<string, number>();
  #nextExpiry = Number.POSITIVE_INFINITY;
  /** Peers left unchecked by a source with a revision, by source, with the revision they saw. */
  readonly #waiting = new Map<BindingSource, { revision: number; peers: Set<string> }>();
  /** Peers whose source's revision moved since their verdict: due at the next check. */
  readonly #moved = new Set<string>();

  constructor(opts: BindingCacheOptions) {
    this.#o = opts;
  }

  /**
   * Checks `claim` (again, if it differs from the cached one or is due). `holder` finds the live
   * member holding its instance (a scan of the records): asked only when the claim is checked.
   */
  check(claim: Claim, holder: () => string | undefined): Verdict {
    const key = keyOf(claim);
    const cur = this.#entries.get(claim.peerId);
    const now = this.#o.now();
    if (cur && cur.key === key && !this.#isDue(claim.peerId, cur, now)) return cur.verdict;
    const source = this.#o.sourceFor(claim.cloud);
    const tookPart = cur !== undefined && cur.key === key && takesPart(cur.verdict);
    const verdict = held(bindingVerdict(claim, source, holder()), claim, tookPart, source);
    this.#entries.set(claim.peerId, { key, verdict, at: now });
    this.#unwait(claim.peerId);
    const answerLater = verdict.kind === 'unchecked' || (verdict.kind === 'unbound' && verdict.reason === 'judging');
    const waits = answerLater && source?.revision !== undefined;
    if (waits && source) this.#wait(claim.peerId, source);
    if (mayChange(verdict) || (verdict.kind === 'unchecked' && source !== undefined && !waits))
      this.#retry.add(claim.peerId);
    else this.#retry.delete(claim.peerId);
    const until = verdict.kind === 'bound' ? verdict.until : undefined;
    if (until === undefined) this.#expiring.delete(claim.peerId);
    else {
      this.#expiring.set(claim.peerId, until);
      this.#nextExpiry = Math.min(this.#nextExpiry, until);
    }
    return verdict;
  }

  /** Whether the peer takes part as far as checked so far (no verdict yet: it has no record, so no). */
  takesPart(peerId: string): boolean {
    const e = this.#entries.get(peerId);
    return e !== undefined && takesPart(e.verdict);
  }

  /** The cached verdict (undefined: never checked). */
  verdict(peerId: string): Verdict | undefined {
    return this.#entries.get(peerId)?.verdict;
  }

  /** Peers whose verdict is due for a re-check. */
  due(): string[] {
    const now = this.#o.now();
    this.#collectMoved();
    // A claim being judged is in both (a retry bounds its wait, the revision brings the answer).
    const due = [...new Set([...this.#retry, ...this.#moved])].filter((peer) => {
      const e = this.#entries.get(peer);
      return e !== undefined && this.#isDue(peer, e, now);
    });
    if (now < this.#nextExpiry) return due;
    this.#nextExpiry = Number.POSITIVE_INFINITY;
    for (const [peer, until] of this.#expiring) {
      if (until <= now) due.push(peer);
      else this.#nextExpiry = Math.min(this.#nextExpiry, until);
    }
    return due;
  }

  forget(peerId: string): void {
    this.#entries.delete(peerId);
    this.#retry.delete(peerId);
    this.#expiring.delete(peerId);
    this.#unwait(peerId);
  }

  #wait(peer: string, source: BindingSource): void {
    let w = this.#waiting.get(source);
    if (!w) {
      w = { revision: source.revision?.() ?? 0, peers: new Set() };
      this.#waiting.set(source, w);
    }
    w.peers.add(peer);
  }

  #unwait(peer: string): void {
    this.#moved.delete(peer);
    for (const w of this.#waiting.values()) w.peers.delete(peer);
  }

  /** One revision read per waiting source, not per peer: a source that moved makes its peers due. */
  #collectMoved(): void {
    for (const [source, w] of this.#waiting) {
      const revision = source.revision?.() ?? 0;
      if (revision === w.revision) continue;
      w.revision = revision;
      for (const peer of w.peers) this.#moved.add(peer);
    }
  }

  #isDue(peer: string, e: Entry, now: number): boolean {
    if (this.#moved.has(peer)) return true;
    if ((this.#expiring.get(peer) ?? Number.POSITIVE_INFINITY) <= now) return true;
    return this.#retry.has(peer) && now - e.at >= this.#o.recheckAfter;
  }
}

/**
 * A claim its source is still judging (the leader's first listing, a dial to the listed address)
 * takes no part until the answer if it never took part here (unbound `judging`, re-checked when
 * the source's revision moves and every re-check period): a key holder gains nothing by claiming
 * just before a listing. One that took part here before (unchecked while this node followed,
 * bound by a listing whose TTL ran out) keeps taking part meanwhile: a new leader must not drop
 * its members from its view — and from the size its lease counts — while it first lists.
 */
function held(v: Verdict, claim: Claim, tookPart: boolean, source: BindingSource | undefined): Verdict {
  if (v.kind !== 'unchecked' || !v.judging || tookPart) return v;
  const detail = `${source?.name ?? 'its source'} has not judged ${claim.instanceId} (peer ${claim.peerId}) yet`;
  return { kind: 'unbound', reason: 'judging', detail };
}

function keyOf(c: Claim): string {
  return `${c.cloud}\u0000${c.instanceId}\u0000${evidenceKey(c.identity)}`;
}

function evidenceKey(e: IdentityEvidence | undefined): string {
  return e ? `${e.document}\u0000${e.signature}` : '';
}
