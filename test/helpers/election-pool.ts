import { type Candidate, type ElectionState, initialElection, stepElection } from '../../agent/leader/election.ts';
import { awaitingJoin, hasSeeds, joinedThrough } from '../../agent/leader/seeds.ts';
import { extendReign, reignAckerIds } from '../../agent/leadership/reign.ts';

/** settleAfter of every node of the simulated pools (ms). */
export const SETTLE = 1000;

type Seen = 'alive' | 'suspect' | 'gone';

/**
 * A pool where every node has its own view of the others (alive, suspect or gone), a quorum
 * lease computed from who follows whom, and optional hostile records published in place of a
 * node's own. Each round every live node steps on a snapshot of the others. A node following a
 * leader acknowledges the term it names, and the acknowledgements of every term of a leader's
 * reign count (reign.ts, as in the agent's LeaderDuty): a re-bid keeps the lease.
 */
export class Pool {
  nodes = new Map<string, ElectionState>();
  /** Each node's reign: the terms it led without a break, as its duty would hold them. */
  reigns = new Map<string, readonly number[]>();
  /** Each node's seeds (peer ids): it claims nothing until settled after seeing one alive, or joinWindow passed. */
  seeds = new Map<string, string[]>();
  /** When each node first saw a seed alive (latched, as the agent's Leadership does). */
  joinedAt = new Map<string, number>();
  down = new Set<string>();
  hostile = new Map<string, Candidate>();
  now = 0;
  /** Terms that some node claimed for itself (leader-elected with self). */
  claims: Array<{ peerId: string; term: number; at: number }> = [];
  refused = 0;
  view: (observer: string, other: string, now: number) => Seen = (_o, other) =>
    this.down.has(other) ? 'gone' : 'alive';

  constructor(
    ids: string[],
    readonly opts: { claimDelay: number; leaseTimeout: number; joinWindow?: number },
  ) {
    ids.forEach((id, i) => {
      this.nodes.set(id, initialElection(i));
    });
  }

  candidate(id: string): Candidate {
    const h = this.hostile.get(id);
    if (h) return h;
    const s = this.nodes.get(id) as ElectionState;
    return { peerId: id, startedAt: s.startedAt, term: s.term, ...(s.leads !== null ? { leads: s.leads } : {}) };
  }

  /**
   * CheckQuorum as the agent computes it: a strict majority of the pool (self included) follows
   * me at a term of my reign.
   */
  leaseHeld(id: string): boolean {
    const me = this.nodes.get(id) as ElectionState;
    if (me.leads === null) return false;
    const reign = extendReign(this.reigns.get(id) ?? [], me.leads);
    const acks = reignAckerIds(
      reign,
      (term) => this.#followers(id, term),
      () => 0,
    ).size;
    return acks > this.nodes.size / 2;
  }

  /** The live honest nodes `id` sees (itself included) that follow it at `term`. */
  *#followers(id: string, term: number): Iterable<string> {
    for (const [other, s] of this.nodes) {
      if (this.down.has(other) || this.hostile.has(other)) continue;
      if (other !== id && this.view(id, other, this.now) === 'gone') continue;
      if (s.leader?.peerId === id && s.leader.term === term) yield other;
    }
  }

  round() {
    const snapshot = new Map([...this.nodes.keys()].map((id) => [id, this.candidate(id)]));
    const leases = new Map([...this.nodes.keys()].map((id) => [id, this.leaseHeld(id)]));
    for (const [id, state] of this.nodes) {
      if (this.down.has(id) || this.hostile.has(id)) continue;
      const others = [...snapshot.values()].filter((c) => c.peerId !== id && !this.down.has(c.peerId));
      const alive = others.filter((c) => this.view(id, c.peerId, this.now) === 'alive');
      const seeds = (this.seeds.get(id) ?? []).map((p) => `/p2p/${p}`);
      const members = alive.map((c) => ({ peerId: c.peerId, addrs: [] }));
      if (!this.joinedAt.has(id) && joinedThrough(seeds, id, members))
        this.joinedAt.set(id, hasSeeds(seeds, id) ? this.now : Number.NEGATIVE_INFINITY);
      const r = stepElection(state, {
        self: { peerId: id },
        alive,
        suspect: others.filter((c) => this.view(id, c.peerId, this.now) === 'suspect'),
        seenTerm: 0,
        now: this.now,
        settleAfter: SETTLE,
        claimDelay: this.opts.claimDelay,
        leaseTimeout: this.opts.leaseTimeout,
        leaseHeld: leases.get(id) ?? false,
        awaitingJoin: awaitingJoin(this.joinedAt.get(id) ?? null, this.now, SETTLE),
        ...(this.opts.joinWindow !== undefined ? { joinWindow: this.opts.joinWindow } : {}),
      });
      this.nodes.set(id, r.state);
      this.reigns.set(id, extendReign(this.reigns.get(id) ?? [], r.state.leads));
      this.refused += r.refused.length;
      for (const e of r.events)
        if (e.type === 'leader-elected' && e.self) this.claims.push({ peerId: id, term: e.term, at: this.now });
    }
    this.now += 100;
  }

  run(ms: number) {
    for (const end = this.now + ms; this.now < end; ) this.round();
  }

  /** Each live honest node's leader as "peer@term". */
  followed(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [id, s] of this.nodes)
      if (!this.down.has(id) && !this.hostile.has(id)) out[id] = s.leader ? `${s.leader.peerId}@${s.leader.term}` : '-';
    return out;
  }

  leaders(): string[] {
    return [...this.nodes].filter(([id, s]) => !this.down.has(id) && s.leads !== null).map(([id]) => id);
  }
}

/** Every one of `ids` (one letter each) following `leader` ("peer@term"). */
export const everyone = (ids: string, leader: string) => Object.fromEntries([...ids].map((id) => [id, leader]));

/** A pool of `ids` (started in that order) run 2 s past SETTLE: the oldest leads term 1. */
export function settled(ids: string[]): Pool {
  const pool = new Pool(ids, { claimDelay: 500, leaseTimeout: 3000 });
  pool.now = SETTLE;
  pool.run(2000);
  return pool;
}
