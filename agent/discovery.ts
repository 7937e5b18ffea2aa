import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';

/** What the dialer needs from libp2p; a fake in tests. */
export interface DialTarget {
  connectionCount(): number;
  isConnected(peerId: string): boolean;
  dial(addrs: Multiaddr[] | Multiaddr): Promise<unknown>;
}

export interface Candidate {
  peerId: string;
  addrs: string[];
}

export interface DialerOptions {
  target: DialTarget;
  selfPeerId: string;
  bootstrap: string[];
  /** Below this many connections, dial more known members. */
  minConnections: number;
  /** A peer whose dial failed is not tried again for this long (ms). */
  retryAfter?: number;
  now?: () => number;
  /** Source of the retry jitter, 0..1 (tests pin it). */
  random?: () => number;
  onError?: (what: string, err: Error) => void;
}

/**
 * Keeps the agent connected to enough members for a healthy gossip mesh. Members are learned from
 * heartbeats (which carry their addresses), so knowing a single bootstrap peer is enough to reach
 * all of them. Dials are bounded: never more in flight than the connection deficit, and a failed
 * peer waits `retryAfter` before it is tried again.
 */
export class Dialer {
  readonly #o: Required<Omit<DialerOptions, 'onError'>> & Pick<DialerOptions, 'onError'>;
  readonly #inFlight = new Set<string>();
  readonly #failedAt = new Map<string, number>();

  constructor(opts: DialerOptions) {
    this.#o = { retryAfter: 5_000, now: Date.now, random: Math.random, ...opts };
  }

  /** Called periodically with the currently alive members; returns the number of dials started. */
  maintain(candidates: Iterable<Candidate>, isolated = false): number {
    const o = this.#o;
    let deficit = o.minConnections - o.target.connectionCount() - this.#inFlight.size;
    let started = 0;
    const now = o.now();
    const all = [...candidates];
    const candidatesSeen = all.map((c) => c.peerId);
    const fresh = shuffle(all.filter((c) => this.#dialable(c.peerId, now)));
    for (const c of fresh) {
      if (deficit <= 0) break;
      const addrs = toMultiaddrs(c.addrs, c.peerId);
      if (addrs.length === 0) continue;
      this.#start(c.peerId, addrs);
      deficit--;
      started++;
    }
    // With no connection at all, or connections but nobody heard from, fall back to the
    // bootstrap list (our only way into the pool).
    const fallback = (o.target.connectionCount() === 0 || isolated) && this.#inFlight.size === 0;
    const known = new Set(candidatesSeen);
    for (const addr of o.bootstrap) {
      const key = `bootstrap:${addr}`;
      const ma = parse(addr);
      if (!ma) continue;
      // A bootstrap peer we are not connected to and have not heard from (its first dial may
      // have raced its start) is retried too, so no member stays cut off from the others.
      const peer = ma.getComponents().find((c) => c.name === 'p2p')?.value;
      const unheard = peer !== undefined && peer !== o.selfPeerId && !known.has(peer) && !o.target.isConnected(peer);
      if (!(fallback || unheard) || !this.#dialable(key, now)) continue;
      this.#start(key, [ma]);
      started++;
    }
    return started;
  }

  #dialable(key: string, now: number): boolean {
    if (key === this.#o.selfPeerId || this.#inFlight.has(key)) return false;
    if (!key.startsWith('bootstrap:') && this.#o.target.isConnected(key)) return false;
    const failed = this.#failedAt.get(key);
    return failed === undefined || now - failed >= this.#o.retryAfter;
  }

  #start(key: string, addrs: Multiaddr[]): void {
    this.#inFlight.add(key);
    this.#o.target
      .dial(addrs.length === 1 ? (addrs[0] as Multiaddr) : addrs)
      .then(() => this.#failedAt.delete(key))
      .catch((err: Error) => {
        // Jittered, so agents whose dials failed together do not all retry together.
        this.#failedAt.set(key, this.#o.now() + (this.#o.random() - 0.5) * this.#o.retryAfter);
        this.#o.onError?.(key, err);
      })
      .finally(() => this.#inFlight.delete(key));
  }
}

function parse(addr: string): Multiaddr | undefined {
  try {
    return multiaddr(addr);
  } catch {
    return undefined;
  }
}

function toMultiaddrs(addrs: string[], peerId: string): Multiaddr[] {
  let id: PeerId;
  try {
    id = peerIdFromString(peerId);
  } catch {
    return [];
  }
  const out: Multiaddr[] = [];
  for (const a of addrs) {
    const ma = parse(a);
    if (ma) out.push(ma.getComponents().some((c) => c.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${id.toString()}`));
  }
  return out;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
