import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import type { PoolNode } from '../p2p/node.ts';

/**
 * How long addresses put in the peer store count as there (ms). The peer store drops an address
 * not seen for an hour (@libp2p/peer-store's maxAddressAge): merging it again within that keeps it.
 */
export const RELEARN_MS = 5 * 60_000;

export interface AddrLearnerOptions {
  node: Pick<PoolNode, 'peerStore'>;
  self: string;
  /** Members whose addresses are noted (maxMembers). */
  max: number;
  now: () => number;
}

/**
 * Puts members' record addresses in the peer store, so they can be dialled by peer id — once per
 * change of addresses (or per RELEARN_MS), not once per record kept. Every newer record of a member
 * (a term, a claim, a bundle state, on gossip or in a synced table) was merged, and a merge reads,
 * decodes and rewrites the peer's entry: 2-3 % of a bench host's busy time in an N=100 join
 * storm (BENCHMARKS.md session 19 profile: peer store merges 3.5 %, most from records), for
 * addresses that had not changed. Bounded: the members noted least recently go first past `max`.
 */
export class AddrLearner {
  readonly #noted = new Map<string, { addrs: string; at: number }>();
  readonly #o: AddrLearnerOptions;

  constructor(o: AddrLearnerOptions) {
    this.#o = o;
  }

  learn(r: Heartbeat): void {
    const o = this.#o;
    if (r.peerId === o.self || r.addrs.length === 0) return;
    const addrs = r.addrs.join(' ');
    const now = o.now();
    const noted = this.#noted.get(r.peerId);
    if (noted && noted.addrs === addrs && now - noted.at < RELEARN_MS) return;
    let parsed: { id: ReturnType<typeof peerIdFromString>; addrs: ReturnType<typeof multiaddr>[] };
    try {
      parsed = { id: peerIdFromString(r.peerId), addrs: r.addrs.map((a) => multiaddr(a)) };
    } catch {
      return; // A malformed address in a valid-looking record: the member stays undialable.
    }
    this.#noted.delete(r.peerId); // re-inserted last: the least recent goes first
    this.#noted.set(r.peerId, { addrs, at: now });
    for (const old of this.#noted.keys()) {
      if (this.#noted.size <= o.max) break;
      this.#noted.delete(old);
    }
    o.node.peerStore.merge(parsed.id, { multiaddrs: parsed.addrs }).catch(() => {
      // Tried again with the member's next record.
      if (this.#noted.get(r.peerId)?.addrs === addrs) this.#noted.delete(r.peerId);
    });
  }
}
