import type { SealedSummary, SummaryFrame } from '../../shared/wire/probe.ts';
import { RELAY_LIMITS, sealInner } from '../../shared/wire/relay-report.ts';
import { summaryToWire } from '../../shared/wire/summary-frame.ts';
import type { Leader, RelaySigning } from './relay-sign.ts';

export interface RelayDownOptions extends RelaySigning {
  /** This node's children in the tree rooted at `leader` (relay-tree.ts). */
  children: (leader: Leader) => string[];
  send: (to: string, frame: SealedSummary) => Promise<void>;
}

/** Sealed summaries a member remembers having passed on (a summary is a few frames). */
const SEEN = 64;

/**
 * The leader's summary down the relay tree (issue 13): the leader seals each summary frame once
 * per interval (its signature over the frame, its term and its clock) and sends it to its tree
 * children; each member that verifies it as the leader it follows, in its term, takes it and
 * sends it on verbatim to its own children. Older seals than the last taken are dropped, and a
 * frame already passed on is not passed on again. A follower still gets each summary once per
 * interval, the same bytes as point to point; the leader sends it to its few children only.
 */
export class RelayDown {
  readonly #o: RelayDownOptions;
  /** Leading: when the last sealed summary went out (undefined: none in this reign). */
  #sealedAt: number | undefined;
  #sealedTerm = -1;
  /** Following: the newest seal time taken, and the seals of that time passed on. */
  #lastAt = -1;
  #seen = new Set<string>();
  /** The leader and term `#lastAt` is of (a new leader's clock owes nothing to the old one's). */
  #of = '';

  constructor(opts: RelayDownOptions) {
    this.#o = opts;
  }

  /** Leading: whether a sealed summary is due (an interval since the last one, or `early`). */
  due(leader: Leader, interval: number, early: boolean): boolean {
    const at = this.#sealedAt;
    return early || at === undefined || this.#sealedTerm !== leader.term || this.#o.now() - at >= interval;
  }

  /** Leading: seals `frames` and sends them to this node's tree children. */
  async publish(leader: Leader, frames: readonly SummaryFrame[]): Promise<void> {
    const at = this.#o.now();
    this.#sealedAt = at;
    this.#sealedTerm = leader.term;
    const sealed = await Promise.all(
      frames.map(async (f): Promise<SealedSummary> => {
        const inner = sealInner(leader.term, at, summaryToWire(f));
        // binds: this leader counts reports bound to it (relay-report.ts), so its followers may bind.
        return { ...f, seal: { inner, sig: await this.#o.sign(inner), at, hop: 0, binds: true } };
      }),
    );
    await this.#fanOut(leader, sealed);
  }

  /**
   * Following: whether a sealed summary is the leader's, in its term, and not older than the last
   * one taken; when it is new it is sent on to this node's children (hop + 1).
   */
  async take(frame: SealedSummary, leader: Leader): Promise<boolean> {
    const seal = frame.seal;
    const of = `${leader.peerId}/${leader.term}`;
    if (of !== this.#of) {
      this.#of = of;
      this.#lastAt = -1;
      this.#seen = new Set();
    }
    if (!seal || frame.term !== leader.term || seal.at < this.#lastAt) return false;
    if (!(await this.#o.verifier.verify(leader.peerId, seal.inner, seal.sig))) return false;
    if (seal.at < this.#lastAt) return false;
    if (seal.at > this.#lastAt) {
      this.#lastAt = seal.at;
      this.#seen = new Set();
    }
    const key = Buffer.from(seal.sig).toString('base64');
    if (this.#seen.has(key) || this.#seen.size >= SEEN) return false;
    this.#seen.add(key);
    if (seal.hop >= RELAY_LIMITS.hops) return true;
    void this.#fanOut(leader, [{ ...frame, seal: { ...seal, hop: seal.hop + 1 } }]);
    return true;
  }

  async #fanOut(leader: Leader, frames: readonly SealedSummary[]): Promise<void> {
    const children = this.#o.children(leader).filter((c) => c !== this.#o.self && c !== leader.peerId);
    await Promise.all(children.flatMap((id) => frames.map((f) => this.#o.send(id, f).catch(() => undefined))));
  }
}
