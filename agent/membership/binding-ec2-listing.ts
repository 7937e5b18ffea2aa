import type { BindingSource, Claim, Verdict } from './binding.ts';
import { type ListedInstance, type Located, listedAddress, locatedVerdict } from './binding-ec2-listing-verdict.ts';

/**
 * EC2 without `identityCertificate` as a binding source, on the node that leads: the claim is
 * checked against the provider's listing of the cloud (one DescribeInstances by the pool and cloud
 * tags for every claim pending at the time, at most one per `minInterval`) and against where the
 * claimant answers (binding-ec2-listing-verdict.ts). Answers come in asynchronously, so a claim is
 * `unchecked` and `judging` until they do and the binding cache checks it again when `revision()`
 * moves; meanwhile the cache holds a claim that never took part on this node (binding-cache.ts),
 * for at most `judgeWithin` from when this node, leading, first checked it: then it is plainly
 * unchecked, logged once (`binding-listing-late`). A node that starts leading lists at once.
 *
 * A node that does not lead lists nothing (followers have no business calling EC2, and N of them
 * would spend the account's request budget the leader scales with): its members stay unchecked,
 * as before. A claim first seen after the current listing was taken waits for the next one, so a
 * freshly launched instance is never judged by a listing from before it existed. A failed listing
 * (throttled, refused credentials) leaves claims unchecked, is logged once until one succeeds, and
 * is not tried again for `retryAfter`.
 *
 * The leader's refusals travel to its followers in its load summary (`refused()`); a follower
 * (and a new leader until its own listing judges a claim) answers with what the leader it follows
 * refused (`held`, binding-ec2-listing-held.ts) instead of `unchecked`.
 */

export interface Ec2ListingOptions {
  pool: string;
  cloud: string;
  /** Whether this node leads now: only then does it list. */
  acting: () => boolean;
  /** The cloud's live instances as the provider lists them (the leader's instance role). */
  list: () => Promise<ListedInstance[]>;
  /** The remote IPs of this node's direct connections with `peerId` (no call, no dial). */
  connectedFrom: (peerId: string) => string[];
  /** Looks for `peerId` at `ip` (a dial to the cloud's p2p port); never rejects. */
  locate: (peerId: string, ip: string) => Promise<Located>;
  now: () => number;
  /** How long a listing and each verdict from it are reused (ms). */
  ttl: number;
  /** Least time between two listings (ms). */
  minInterval: number;
  /** No listing for this long after a failed one (ms). */
  retryAfter: number;
  /** Longest a claim waits for this node's listing before it is unchecked (ms; default JUDGE_WITHIN_MS). */
  judgeWithin?: number;
  log: (msg: string, fields: Record<string, unknown>) => void;
  /** The refusals of the leader this node follows, still held (binding-ec2-listing-held.ts). */
  held?: { verdict(peerId: string): Verdict | undefined; revision(): number };
}

/** At most this many peer ids in `refused()` (the summary's bound, SUMMARY_LIMITS.unbound). */
export const MAX_REFUSED = 256;

/** Default of `judgeWithin` (ms): a listing of one page answers in well under a second. */
export const JUDGE_WITHIN_MS = 10_000;

const UNCHECKED: Verdict = { kind: 'unchecked' };
const JUDGING: Verdict = { kind: 'unchecked', judging: true };

export class Ec2ListingSource implements BindingSource {
  readonly name = 'ec2-listing';
  readonly #o: Ec2ListingOptions;
  #revision = 0;
  #acting = false;
  #listing: { at: number; byId: Map<string, ListedInstance> } | undefined;
  #calling = false;
  #timer: NodeJS.Timeout | undefined;
  #nextCallAt = 0;
  /** Per claim (peer, instance, cloud): when this node, leading, first checked it. */
  readonly #firstSeen = new Map<string, number>();
  readonly #verdicts = new Map<string, { verdict: Verdict; at: number }>();
  readonly #locating = new Set<string>();
  /** Error names of failed listings already logged (cleared by a listing that succeeds). */
  readonly #failed = new Set<string>();
  /** Peers whose latest verdict here is unbound, and when (oldest first). */
  readonly #refused = new Map<string, number>();
  /** Claims that waited longer than `judgeWithin` (logged once each; pruned with #firstSeen). */
  readonly #late = new Set<string>();

  constructor(opts: Ec2ListingOptions) {
    this.#o = opts;
  }

  revision(): number {
    const acting = this.#o.acting();
    if (acting !== this.#acting) {
      this.#acting = acting;
      this.#revision++;
      if (acting) this.#want(); // a new leader lists now, not at the first claim it is asked about
    }
    // Either counter moving makes unchecked verdicts due; the sum of two counters that only grow does too.
    return this.#revision + (this.#o.held?.revision() ?? 0);
  }

  /** Our own verdict when it is one, else the refusal of the leader we follow, if still held. */
  check(claim: Claim): Verdict {
    const own = this.#check(claim);
    return own.kind === 'unchecked' ? (this.#o.held?.verdict(claim.peerId) ?? own) : own;
  }

  /** Peers this node, leading, refused within the TTL: newest first, at most MAX_REFUSED. */
  refused(): string[] {
    const now = this.#o.now();
    const out: string[] = [];
    for (const [peer, at] of [...this.#refused].reverse()) {
      if (now - at >= this.#o.ttl || out.length >= MAX_REFUSED) break;
      out.push(peer);
    }
    return this.#o.acting() ? out : [];
  }

  #check(claim: Claim): Verdict {
    const o = this.#o;
    if (!o.acting()) return UNCHECKED;
    const key = `${claim.peerId}\u0000${claim.instanceId}\u0000${claim.cloud}`;
    const now = o.now();
    const cached = this.#verdicts.get(key);
    if (cached && now - cached.at < o.ttl) return cached.verdict;
    const first = this.#firstSeen.get(key) ?? now;
    this.#firstSeen.set(key, first);
    const listing = this.#listing;
    if (!listing || listing.at < first || now - listing.at >= o.ttl) {
      this.#want();
      // The latest listing failed: unchecked until one succeeds (binding-listing-unavailable said so).
      return this.#failed.size > 0 ? UNCHECKED : this.#judging(key, claim, now - first);
    }
    const step = listedAddress(claim, listing.byId.get(claim.instanceId), o.pool);
    if (!step) return UNCHECKED;
    if ('verdict' in step) return this.#store(key, claim, step.verdict);
    const from = o.connectedFrom(claim.peerId);
    if (from.includes(step.ip)) return this.#store(key, claim, { kind: 'bound', by: this.name });
    this.#locate(key, claim, step.ip, from);
    return this.#judging(key, claim, now - first);
  }

  /** An answer is on its way: `judging`, unless the claim has waited `judgeWithin` already. */
  #judging(key: string, claim: Claim, waited: number): Verdict {
    if (waited < (this.#o.judgeWithin ?? JUDGE_WITHIN_MS)) return JUDGING;
    if (!this.#late.has(key)) {
      this.#late.add(key);
      const fields = { cloud: claim.cloud, peerId: claim.peerId, instanceId: claim.instanceId, waitedMs: waited };
      this.#o.log('binding-listing-late', {
        ...fields,
        effect: 'unchecked (first claim wins) until the listing answers',
      });
    }
    return UNCHECKED;
  }

  /** Stops the pending listing timer (the agent stops). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #store(key: string, claim: Claim, verdict: Verdict): Verdict {
    this.#verdicts.set(key, { verdict, at: this.#o.now() });
    this.#firstSeen.delete(key);
    this.#refused.delete(claim.peerId);
    if (verdict.kind === 'unbound') this.#refused.set(claim.peerId, this.#o.now());
    const fields = { cloud: claim.cloud, peerId: claim.peerId, instanceId: claim.instanceId };
    if (verdict.kind === 'unbound')
      this.#o.log('binding-listing-refused', { ...fields, reason: verdict.reason, detail: verdict.detail });
    else this.#o.log('binding-listing-bound', fields);
    return verdict;
  }

  #locate(key: string, claim: Claim, ip: string, from: string[]): void {
    if (this.#locating.has(key)) return;
    this.#locating.add(key);
    void this.#o
      .locate(claim.peerId, ip)
      .catch((err: unknown): Located => ({ kind: 'unreachable', error: (err as Error)?.message ?? String(err) }))
      .then((where) => {
        this.#locating.delete(key);
        this.#store(key, claim, locatedVerdict(claim, ip, where, from));
        this.#revision++;
      });
  }

  #want(): void {
    if (this.#calling || this.#timer) return;
    const wait = Math.max(0, this.#nextCallAt - this.#o.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#call();
    }, wait);
    this.#timer.unref?.();
  }

  async #call(): Promise<void> {
    const o = this.#o;
    if (!o.acting()) return; // stepped down (or stopped) meanwhile: the next leader lists
    this.#calling = true;
    const at = o.now();
    try {
      const listed = await o.list();
      this.#listing = { at, byId: new Map(listed.map((i) => [i.id, i])) };
      this.#nextCallAt = at + o.minInterval;
      this.#failed.clear();
    } catch (err) {
      const e = err as { name?: unknown; message?: unknown };
      const error = typeof e?.name === 'string' ? e.name : 'Error';
      if (!this.#failed.has(error)) {
        this.#failed.add(error);
        o.log('binding-listing-unavailable', {
          cloud: o.cloud,
          error,
          detail: String(e?.message ?? err),
          effect: "the cloud's members stay unchecked (first claim wins) until a listing succeeds",
        });
      }
      this.#nextCallAt = o.now() + o.retryAfter;
    } finally {
      this.#calling = false;
      this.#revision++;
      this.#prune(o.now());
    }
  }

  /** Forgets verdicts and first sightings older than the TTL: both maps stay bounded by the claims of a TTL. */
  #prune(now: number): void {
    for (const [key, v] of this.#verdicts) if (now - v.at >= this.#o.ttl) this.#verdicts.delete(key);
    for (const [key, at] of this.#firstSeen) if (now - at >= this.#o.ttl) this.#firstSeen.delete(key);
    for (const key of this.#late) if (!this.#firstSeen.has(key)) this.#late.delete(key);
    for (const [peer, at] of this.#refused) if (now - at >= this.#o.ttl) this.#refused.delete(peer);
  }
}
