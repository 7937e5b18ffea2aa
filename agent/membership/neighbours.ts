import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import type { PoolNode } from '../p2p/node.ts';

/** Puts a member's record addresses in the peer store, so it can be dialled by peer id. */
export function learnAddrs(node: PoolNode, self: string, r: Heartbeat): void {
  if (r.peerId === self || r.addrs.length === 0) return;
  try {
    void node.peerStore
      .merge(peerIdFromString(r.peerId), { multiaddrs: r.addrs.map((a) => multiaddr(a)) })
      .catch(() => undefined);
  } catch {
    // A malformed address in a valid-looking record: the member stays undialable.
  }
}

/** How often the connections are checked against the wanted set (ms). */
const MAINTAIN_MS = 2000;
/**
 * A connection younger than this is not closed for the budget (ms): a joiner's sync with its seed,
 * or a sync with a random member, must finish on the connection it opened. Longer than a join's
 * dial and table pull together (joining.ts: 15 s + 20 s is the worst case; both usually take
 * well under a second): a seed that cut joiners at 10 s while a storm made their pulls slower
 * than that left them retrying for minutes.
 */
const GRACE_MS = 30_000;

/**
 * Connections to exactly the ring neighbours and the protected peers (the leader): missing ones
 * are dialled (when their record says where), others are closed past the connection budget,
 * oldest first. Checked when the neighbours change and every MAINTAIN_MS: peers that dial us
 * (joiners, syncs, members whose view of the rings is still partial) would otherwise stay
 * connected past the budget, and a neighbour whose record came after the ring changed would
 * never be dialled.
 */
export class Connections {
  #keep: ReadonlySet<string> = new Set();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: {
      node: PoolNode;
      /** Peers kept beyond the neighbours (the leader). */
      protect: () => string[];
      dialable: (id: string) => boolean;
      maxConnections: number;
      now: () => number;
    },
  ) {}

  start(): void {
    this.#timer = setInterval(() => this.maintain(), MAINTAIN_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The ring neighbours changed. */
  neighbours(ids: readonly string[]): void {
    this.#keep = new Set(ids);
    this.maintain();
  }

  maintain(): void {
    const keep = new Set([...this.#keep, ...this.o.protect()]);
    keepConnections(this.o.node, keep, this.o.dialable, this.o.maxConnections, this.o.now());
  }
}

/**
 * Dials the wanted peers not connected, and closes the oldest others that are past GRACE_MS
 * while more than `maxConnections` peers are connected.
 */
export function keepConnections(
  node: PoolNode,
  keep: ReadonlySet<string>,
  dialable: (id: string) => boolean,
  maxConnections: number,
  now: number,
): void {
  const opened = new Map<string, number>();
  for (const c of node.getConnections()) {
    const id = c.remotePeer.toString();
    opened.set(id, Math.min(opened.get(id) ?? Infinity, c.timeline.open));
  }
  for (const id of keep) {
    if (!opened.has(id) && dialable(id))
      void node.dial(peerIdFromString(id), { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
  }
  let excess = opened.size - maxConnections;
  const others = [...opened].filter(([id, at]) => !keep.has(id) && now - at >= GRACE_MS).sort((a, b) => a[1] - b[1]);
  for (const [id] of others) {
    if (excess <= 0) break;
    excess--;
    void node.hangUp(peerIdFromString(id)).catch(() => undefined);
  }
}
