import type { Connection } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { ownTimer, type Repeat } from '../beat.ts';
import { DIAL_MS, type PoolNode } from '../p2p/node.ts';
import { DialOrder } from './dial-order.ts';
import { duplicatesToClose } from './duplicates.ts';
import { busy, surplusToClose } from './surplus.ts';

/** How often the connections are checked against the wanted set (ms). */
const MAINTAIN_MS = 2000;
/**
 * A connection younger than this is not closed for the budget (ms) while it carries a stream of
 * its own (surplus.ts; an idle one goes at SURPLUS_GRACE_MS): a joiner's sync with its seed,
 * or a sync with a random member, must finish on the connection it opened. Longer than a join's
 * dial and table pull together (joining.ts: 15 s + 20 s is the worst case; both usually take
 * well under a second): a seed that cut joiners at 10 s while a storm made their pulls slower
 * than that left them retrying for minutes.
 */
const GRACE_MS = 30_000;

/**
 * Connections to exactly the ring neighbours (the leader is not kept connected since issue 13:
 * load reports reach it up the relay tree, agent/load/relay-tree.ts): missing ones are dialled (when their record says where; of the two ends of a new ring edge, the smaller peer
 * id first: dial-order.ts), a peer's duplicate connections are closed (duplicates.ts), others are closed past the connection budget,
 * oldest first, as soon as they carry nothing (surplus.ts). Checked when the neighbours change and every MAINTAIN_MS: peers that dial us
 * (joiners, syncs, members whose view of the rings is still partial) would otherwise stay
 * connected past the budget, and a neighbour whose record came after the ring changed would
 * never be dialled.
 */
export class Connections {
  #keep: ReadonlySet<string> = new Set();
  #cancel: (() => void) | undefined;
  readonly #order: DialOrder;

  constructor(
    private readonly o: {
      node: PoolNode;
      dialable: (id: string) => boolean;
      maxConnections: number;
      now: () => number;
      /** How long the larger peer id of a new edge waits before it dials (ms; dial-order.ts). */
      dialDeferMs?: number;
      /** The MAINTAIN_MS timer (agent/beat.ts); default its own. */
      repeat?: Repeat;
    },
  ) {
    this.#order = new DialOrder(o.node.peerId.toString(), o.dialDeferMs);
  }

  start(): void {
    this.#cancel = (this.o.repeat ?? ownTimer)(MAINTAIN_MS, () => this.maintain());
  }

  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }

  /** The ring neighbours changed. */
  neighbours(ids: readonly string[]): void {
    this.#keep = new Set(ids);
    this.maintain();
  }

  maintain(): void {
    keepConnections(this.o.node, this.#keep, this.o.dialable, this.o.maxConnections, this.o.now(), this.#order);
  }
}

/**
 * Dials the wanted peers not connected nor being dialled (the larger peer id of a pair only
 * after `order`'s wait: dial-order.ts), closes a peer's duplicate connections that carry nothing of
 * their own (duplicates.ts), and closes the oldest other peers while more than `maxConnections`
 * peers are connected: idle ones past SURPLUS_GRACE_MS, any past GRACE_MS (surplus.ts).
 */
export function keepConnections(
  node: PoolNode,
  keep: ReadonlySet<string>,
  dialable: (id: string) => boolean,
  maxConnections: number,
  now: number,
  order: DialOrder,
): void {
  const opened = new Map<string, number>();
  const byPeer = new Map<string, Connection[]>();
  for (const c of node.getConnections()) {
    const id = c.remotePeer.toString();
    opened.set(id, Math.min(opened.get(id) ?? Infinity, c.timeline.open));
    const conns = byPeer.get(id);
    if (conns) conns.push(c);
    else byPeer.set(id, [c]);
  }
  for (const conns of byPeer.values())
    for (const c of duplicatesToClose(conns, now)) void c.close().catch((err: Error) => c.abort(err));
  const dialling = new Set(node.getDialQueue().map((d) => d.peerId?.toString()));
  const waiting = new Set([...keep].filter((id) => !opened.has(id)));
  order.retain(waiting);
  // A dial runs its full DIAL_MS, not one round: the next round finds it in the dial queue and
  // waits for it, and a probe's short open joins it. Abandoned at 3 s, as it was, no edge to an
  // agent slower than that to accept ever formed, and each abandoned dial lengthened the queue
  // the next one waited in (test/membership-slow-handshake.test.ts).
  for (const id of waiting) {
    if (!dialling.has(id) && dialable(id) && order.due(id, now))
      void node.dial(peerIdFromString(id), { signal: AbortSignal.timeout(DIAL_MS) }).catch(() => undefined);
  }
  // Within the budget nothing closes: no need to look at every connection's streams.
  if (opened.size <= maxConnections) return;
  const peers = [...opened].map(([id, at]) => ({ id, opened: at, busy: busy(byPeer.get(id) ?? []) }));
  for (const id of surplusToClose(peers, keep, maxConnections, now, GRACE_MS))
    void node.hangUp(peerIdFromString(id)).catch(() => undefined);
}
