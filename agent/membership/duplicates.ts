import type { Connection } from '@libp2p/interface';

/**
 * A second connection to a peer younger than this is left alone (ms): identify and gossipsub
 * open their streams on a new connection in its first moments, and which connection gossipsub
 * chose is known only then.
 */
export const DUPLICATE_GRACE_MS = 5_000;

/** Gossipsub's streams: opened on a peer's first connection only, never moved to another. */
const GOSSIP = /^\/meshsub\/|^\/floodsub\//;

/**
 * Streams that reopen on another connection by themselves: the probe channel's (its next frame
 * opens a new stream), identify and ping. A connection carrying any other stream (gossipsub, a
 * sync, a bundle transfer) stays.
 */
const REOPENS = /\/probe\/\d+$|^\/ipfs\/(id|ping)\//;

/**
 * The connections to close among several open to one peer, without talking to it: those past
 * DUPLICATE_GRACE_MS carrying only streams that reopen elsewhere, when the others carry
 * gossipsub both ways. Gossipsub gets a peer's connection once (libp2p's registrar tells it of a
 * peer on its first identify) and keeps its stream there, so a connection with a gossipsub
 * stream stays, and so do all while gossipsub has no stream either way yet: the one it is about
 * to use is not known. Both ends see the same streams on a connection, so they agree.
 */
export function duplicatesToClose(conns: readonly Connection[], now: number): Connection[] {
  const open = conns.filter((c) => c.status === 'open');
  if (open.length < 2) return [];
  const idle = (c: Connection) =>
    now - c.timeline.open >= DUPLICATE_GRACE_MS && c.streams.every((s) => REOPENS.test(s.protocol ?? ''));
  const closable = open.filter(idle);
  const stays = open.filter((c) => !closable.includes(c));
  const gossip = (dir: 'inbound' | 'outbound') =>
    stays.some((c) => c.streams.some((s) => s.direction === dir && GOSSIP.test(s.protocol ?? '')));
  return gossip('inbound') && gossip('outbound') ? closable : [];
}
