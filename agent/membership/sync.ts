import { createHash } from 'node:crypto';
import type { Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { encode } from 'cborg';
import { checkRecord, decodeCbor } from '../../shared/wire/codec.ts';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import { syncProtocol } from '../../shared/wire/probe.ts';
import type { PoolNode } from '../p2p/node.ts';
import { FrameSplitter, frame } from '../transport/frames.ts';
import { viewOf } from './swim/digest.ts';
import { supersedes } from './swim/precedence.ts';
import type { DigestEntry, Liveness } from './swim/types.ts';
import type { SyncDigests } from './sync-digest.ts';
import { sendFrames } from './sync-writes.ts';

/**
 * Anti-entropy over `/poolparty/<pool>/sync/2`: the requester sends the hash of its table; the
 * responder answers "same", or with its table (liveness entries in chunks, then one record per
 * frame) and closes its side. Idle pools therefore exchange a hash, not a table; a joiner (empty
 * hash) gets everything. A requester that says so in its request (`PUSH_BACK`) then sends, on
 * the same stream, what it holds newer than that table (push-pull, as memberlist does): a joiner's
 * seed learns the joiner from the join itself, and a member only a few views hold spreads with
 * every sync that touches one of them, not only with the syncs that pull from them.
 */

export interface Table {
  entries: DigestEntry[];
  records: Heartbeat[];
}

const STATES: Liveness[] = ['alive', 'suspect', 'dead', 'left'];
const CHUNK = 200;

export function tableHash(entries: readonly DigestEntry[], records: (id: string) => number | undefined): string {
  const h = createHash('sha256');
  for (const e of [...entries].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    h.update(`${e.id}/${e.incarnation}/${e.state}/${records(e.id) ?? -1};`);
  }
  return h.digest('base64').slice(0, 22);
}

/** Our side of a sync: the hash of our views, and the table itself when a peer's hash differs. */
export function ownTable(
  entries: DigestEntry[],
  records: { get(id: string): Heartbeat | undefined; all(): Iterable<Heartbeat> },
): { hash: string; table: () => Table } {
  // Views, not live incarnations: a refutation reaches only the suspect's observers (digest.ts).
  const hash = tableHash(entries.map(viewOf), (id) => records.get(id)?.seq);
  return { hash, table: () => ({ entries, records: [...records.all()] }) };
}

/**
 * How long opening a sync stream may take (ms), a new connection's handshake included. It was
 * 5 s: with fifty agents starting on two loaded cores, most anti-entropy pulls timed out while
 * dialling (2026-12-05, load 70–90), each leaving a handshake half done on both sides, and
 * islands of agents that had joined through one another never merged. A slow pull is harmless
 * (nothing waits on it); an abandoned one is work thrown away.
 */
export const SYNC_OPEN_MS = 20_000;

/**
 * How long a peer may take to answer the hash on the probe stream (ms) before the table is pulled
 * over `/sync/2` anyway (an older agent never answers).
 */
const DIGEST_MS = 2_000;

/** Third element of a request: the requester sends back what it holds newer than the answer. */
const PUSH_BACK = 1;

/**
 * Pulls `peer`'s table (null: same as ours). What we hold about the peer goes with the request:
 * if it is dead to us, it learns it and refutes. With `mine`, what we hold newer than the peer's
 * table is sent back to it (push-pull).
 */
export async function pullTable(
  node: PoolNode,
  pool: string,
  peer: string,
  o: {
    hash: string;
    maxMembers: number;
    held: DigestEntry | undefined;
    /** How long opening the stream may take (default SYNC_OPEN_MS). */
    timeoutMs?: number;
    /**
     * How long the exchange on the open stream may take; unbounded if not given (a join's pull,
     * the joiner's only way in: on a starved machine a slow pull beats none).
     */
    exchangeMs?: number;
    mine?: () => Table;
    /** The hash exchange on the probe stream (sync-digest.ts); without it, always /sync/2. */
    digests?: SyncDigests;
  },
): Promise<Table | null> {
  const { held, digests } = o;
  // Agreeing views (an idle pool's every sync) are settled by the hash on the probe stream.
  const tell = held !== undefined && held.state !== 'alive';
  // A failed ask falls through: opening /sync/2 may take longer than the probe stream's dial.
  const asked =
    digests && o.hash !== '' && !tell ? digests.ask(peer, o.hash, DIGEST_MS).catch(() => undefined) : undefined;
  if ((await asked) === true) return null;
  const stream = await node.dialProtocol(peerIdFromString(peer), syncProtocol(pool), {
    signal: AbortSignal.timeout(o.timeoutMs ?? SYNC_OPEN_MS),
  });
  const push = tell ? [{ id: peer, incarnation: held.incarnation, state: held.state }] : [];
  // A peer that accepted the stream and then stalls must not hold this sync (and one of the few
  // that run at once: sync-runner.ts) until the stream's 120 s inactivity timeout.
  const ms = o.exchangeMs;
  const stalled = ms === undefined ? undefined : setTimeout(() => stream.abort(new Error('sync timed out')), ms);
  try {
    return await requestSync(stream, o.hash, o.maxMembers, push, o.mine);
  } finally {
    clearTimeout(stalled);
  }
}

/**
 * Serves our table on the sync protocol; `aboutMe` gets what a requester holds about us (a dead
 * entry: we refute), `onTable` what a requester pushed back after our answer. Both are given the
 * requester, as its connection authenticated it: a table from a member we hold dead or left is
 * the other side's view after a heal, not evidence (swim/peer-view.ts `doubts`).
 */
export function handleSync(
  node: PoolNode,
  o: {
    pool: string;
    self: string;
    maxMembers: number;
    own: () => { hash: string; table: () => Table };
    /** Answers hash asks on the probe stream too (sync-digest.ts). */
    digests?: SyncDigests;
  },
  aboutMe: (entries: DigestEntry[], from: string) => void,
  onTable: (table: Table, from: string) => void = () => undefined,
): Promise<void> {
  const serve = (stream: Stream, from: string) => {
    const pushed = (entries: DigestEntry[]) => {
      const mine = entries.filter((e) => e.id === o.self);
      if (mine.length > 0) aboutMe(mine, from);
    };
    const back = { maxMembers: o.maxMembers, onTable: (t: Table) => onTable(t, from) };
    return serveSync(stream, o.own, pushed, back);
  };
  o.digests?.serve(() => o.own().hash);
  return node.handle(
    syncProtocol(o.pool),
    (stream, connection) => void serve(stream, connection.remotePeer.toString()).catch(() => undefined),
    { maxInboundStreams: 8 },
  );
}

/** Most entries a requester may push with its request (what it holds about the responder). */
const MAX_PUSHED = 16;

/**
 * Server side: answers one request on `stream`. A requester may push a few entries with its
 * request — what it holds about us: a member of the other side of a healed partition holds us
 * dead, and must tell us so we refute, or its view never heals.
 */
export async function serveSync(
  stream: Stream,
  own: () => { hash: string; table: () => Table },
  onPushed: (entries: DigestEntry[]) => void = () => undefined,
  back: { maxMembers: number; onTable: (table: Table) => void } = { maxMembers: 0, onTable: () => undefined },
): Promise<void> {
  const request = await readFrames(stream, 1, 4096);
  const asked = decodeCbor(request[0] ?? new Uint8Array());
  if (!Array.isArray(asked) || typeof asked[0] !== 'string') return void stream.abort(new Error('bad sync request'));
  if (Array.isArray(asked[1])) onPushed(entriesOf((asked[1] as unknown[]).slice(0, MAX_PUSHED)));
  const mine = own();
  const same = asked[0] === mine.hash;
  if (same) {
    await send(stream, encode([true]));
  } else {
    await sendTable(stream, mine.table());
  }
  await stream.close().catch(() => undefined);
  if (same || asked[2] !== PUSH_BACK || back.maxMembers <= 0) return;
  // A requester that stalls before pushing must not hold one of our few sync streams for long.
  const stalled = setTimeout(() => stream.abort(new Error('sync push-back timed out')), SYNC_OPEN_MS);
  try {
    const pushed = tableOf(await readFrames(stream, tableFrames(back.maxMembers), 16 * 1024));
    if (pushed.entries.length > 0 || pushed.records.length > 0) back.onTable(pushed);
  } finally {
    clearTimeout(stalled);
  }
}

/**
 * A table as frames: liveness entries in chunks, then one record per frame, written together
 * (sync-writes.ts: a 50-member table is one write, not 51).
 */
async function sendTable(stream: Stream, { entries, records }: Table, head = true): Promise<void> {
  const frames = head ? [frame(encode([false]))] : [];
  for (let i = 0; i < entries.length; i += CHUNK) {
    const chunk = entries.slice(i, i + CHUNK).map((e) => [e.id, e.incarnation, STATES.indexOf(e.state)]);
    frames.push(frame(encode(['e', chunk])));
  }
  for (const r of records) frames.push(frame(encode(['r', r])));
  await sendFrames(stream, frames);
}

/** Most frames a table of `maxMembers` takes. */
function tableFrames(maxMembers: number): number {
  return Math.ceil(maxMembers / CHUNK) + maxMembers;
}

function tableOf(frames: readonly Uint8Array[]): Table {
  const table: Table = { entries: [], records: [] };
  for (const f of frames) {
    const v = decodeCbor(f);
    if (!Array.isArray(v)) continue;
    if (v[0] === 'e' && Array.isArray(v[1])) {
      table.entries.push(...entriesOf(v[1] as unknown[]));
    } else if (v[0] === 'r') {
      const r = checkRecord(v[1]);
      if (r) table.records.push(r);
    }
  }
  return table;
}

function entriesOf(list: unknown[]): DigestEntry[] {
  const out: DigestEntry[] = [];
  for (const e of list) {
    if (!Array.isArray(e)) continue;
    const [id, incarnation, state] = e as [unknown, unknown, unknown];
    const s = STATES[state as number];
    if (typeof id === 'string' && id.length <= 128 && Number.isSafeInteger(incarnation) && s)
      out.push({ id, incarnation: incarnation as number, state: s });
  }
  return out;
}

/**
 * Client side: sends our hash, returns the peer's table (null when it matched ours). With `mine`,
 * what we hold newer than that table is sent back before we close (`newerThan`).
 */
export async function requestSync(
  stream: Stream,
  hash: string,
  maxMembers: number,
  push: readonly DigestEntry[] = [],
  mine?: () => Table,
): Promise<Table | null> {
  const pushed = push.slice(0, MAX_PUSHED).map((e) => [e.id, e.incarnation, STATES.indexOf(e.state)]);
  const request = mine ? [hash, pushed, PUSH_BACK] : pushed.length > 0 ? [hash, pushed] : [hash];
  await send(stream, encode(request));
  const frames = await readFrames(stream, 1 + tableFrames(maxMembers), 16 * 1024);
  const head = decodeCbor(frames[0] ?? new Uint8Array());
  if (!Array.isArray(head) || typeof head[0] !== 'boolean') throw new Error('bad sync answer');
  if (head[0]) {
    await stream.close().catch(() => undefined);
    return null;
  }
  const table = tableOf(frames.slice(1));
  if (mine) await sendTable(stream, newerThan(mine(), table), false).catch(() => undefined);
  await stream.close().catch(() => undefined);
  return table;
}

/**
 * What `mine` holds that `theirs` lacks or holds older: entries that supersede theirs (SWIM
 * precedence), records with a newer seq. Pure; what a requester pushes back after a pull.
 */
export function newerThan(mine: Table, theirs: Table): Table {
  const entries = new Map(theirs.entries.map((e) => [e.id, e]));
  const seqs = new Map(theirs.records.map((r) => [r.peerId, r.seq]));
  return {
    entries: mine.entries.filter((e) => supersedes(e, entries.get(e.id))),
    records: mine.records.filter((r) => r.seq > (seqs.get(r.peerId) ?? -1)),
  };
}

async function send(stream: Stream, payload: Uint8Array): Promise<void> {
  if (!stream.send(frame(payload))) await stream.onDrain();
}

async function readFrames(stream: Stream, max: number, maxFrame: number): Promise<Uint8Array[]> {
  const splitter = new FrameSplitter(maxFrame);
  const out: Uint8Array[] = [];
  for await (const chunk of stream) {
    const got = splitter.push(chunk instanceof Uint8Array ? chunk : chunk.subarray());
    if (typeof got === 'string') throw new Error(got);
    out.push(...got);
    if (out.length >= max) break;
  }
  return out;
}
