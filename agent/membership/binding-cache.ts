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
 * check per peer (plus a re-check every `recheckAfter` for the few whose verdict may change).
 * Bounded by the record book: the shell forgets a peer when it forgets its record.
 */
export class BindingCache {
  readonly #o: BindingCacheOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(opts: BindingCacheOptions) {
    this.#o = opts;
  }

  /** Checks `claim` (again, if it differs from the cached one or is due); `holder`: the live member holding its instance. */
  check(claim: Claim, holder: string | undefined): Verdict {
    const key = keyOf(claim);
    const cur = this.#entries.get(claim.peerId);
    const now = this.#o.now();
    if (cur && cur.key === key && !this.#due(cur, claim.cloud, now)) return cur.verdict;
    const verdict = bindingVerdict(claim, this.#o.sourceFor(claim.cloud), holder);
    this.#entries.set(claim.peerId, { key, verdict, at: now });
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
  *due(): Generator<string> {
    const now = this.#o.now();
    for (const [peer, e] of this.#entries) if (this.#due(e, cloudOfKey(e.key), now)) yield peer;
  }

  forget(peerId: string): void {
    this.#entries.delete(peerId);
  }

  #due(e: Entry, cloud: string, now: number): boolean {
    if (now - e.at < this.#o.recheckAfter) return false;
    return mayChange(e.verdict) || (e.verdict.kind === 'unchecked' && this.#o.sourceFor(cloud) !== undefined);
  }
}

function keyOf(c: Claim): string {
  return `${c.cloud}\u0000${c.instanceId}\u0000${evidenceKey(c.identity)}`;
}

function cloudOfKey(key: string): string {
  return key.slice(0, key.indexOf('\u0000'));
}

function evidenceKey(e: IdentityEvidence | undefined): string {
  return e ? `${e.document}\u0000${e.signature}` : '';
}
