import type { SwimConfig } from './config.ts';
import { fnv1a } from './overlay.ts';
import type { MemberTable, Tombstones } from './table.ts';
import type { DigestEntry, Liveness, Update } from './types.ts';

const STATES: ReadonlySet<string> = new Set<Liveness>(['alive', 'suspect', 'dead', 'left']);

/** An id we are willing to hold: a non-empty string of bounded length. */
export function validId(id: unknown, config: SwimConfig): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= config.maxIdLength;
}

/**
 * An incarnation we are willing to believe about a member whose highest known incarnation is
 * `known` (0 if unknown): a safe non-negative integer at most `maxIncarnationStep` above it.
 */
export function validIncarnation(inc: unknown, known: number, config: SwimConfig): inc is number {
  return typeof inc === 'number' && Number.isSafeInteger(inc) && inc >= 0 && inc <= known + config.maxIncarnationStep;
}

/** Shape check of an update from the wire (incarnation is checked against what we know later). */
export function wellFormed(u: Update, config: SwimConfig): boolean {
  if (u === null || typeof u !== 'object' || !validId(u.id, config)) return false;
  switch (u.kind) {
    case 'alive':
    case 'left':
      return true;
    case 'suspect':
      return validId(u.from, config) && (u.evidence === 'timeout' || u.evidence === 'refused');
    case 'dead':
      return validId(u.from, config);
    default:
      return false;
  }
}

/** A sync entry as the update it stands for (no originator: it confirms nothing). */
export function entryUpdate(e: DigestEntry, config: SwimConfig): Update | undefined {
  if (e === null || typeof e !== 'object' || !validId(e.id, config) || !STATES.has(e.state)) return undefined;
  const { id, incarnation, state } = e;
  if (typeof incarnation !== 'number') return undefined;
  if (state === 'alive' || state === 'left') return { kind: state, id, incarnation };
  if (state === 'suspect') return { kind: 'suspect', id, incarnation, from: '', evidence: 'timeout' };
  return { kind: 'dead', id, incarnation, from: '' };
}

/** This node's table for anti-entropy: every member, and the tombstones of reaped ones as dead. */
export function digestOf(table: MemberTable, tombstones: Tombstones, buckets?: readonly number[]): DigestEntry[] {
  const out: DigestEntry[] = [];
  if (buckets) {
    const keep = new Set(buckets);
    return digestOf(table, tombstones).filter((e) => keep.has(bucketOf(e.id)));
  }
  for (const m of table.all()) out.push({ id: m.id, incarnation: m.incarnation, state: m.state });
  for (const [id, incarnation] of tombstones.entries()) {
    if (table.state(id) === undefined) out.push({ id, incarnation, state: 'dead' });
  }
  return out;
}

/**
 * Anti-entropy in two rounds, so a sync costs O(buckets) bytes while two tables agree: the
 * initiator sends its summary (one hash per bucket of ids), the partner answers with its entries in
 * the buckets whose hashes differ, and the initiator sends its own entries of those buckets.
 */
export const SUMMARY_BUCKETS = 64;

export function bucketOf(id: string): number {
  return fnv1a(id) % SUMMARY_BUCKETS;
}

/**
 * An entry as far as views go, for comparing tables: a member on the rings (alive or suspect) at
 * any incarnation is the same view. Suspicions and their refutations (which raise the incarnation)
 * are told only to the member's observers, so other members hold older incarnations of live
 * members by design; syncing them would cost a table exchange per suspicion and change nothing.
 * Entries are still merged by precedence (incarnation first) whenever they are exchanged.
 */
export function viewOf(e: DigestEntry): DigestEntry {
  return e.state === 'alive' || e.state === 'suspect' ? { id: e.id, incarnation: 0, state: 'alive' } : e;
}

/** XOR of entry hashes (of their views) per bucket: equal summaries mean (almost surely) equal views. */
export function summarize(entries: readonly DigestEntry[]): number[] {
  const out = new Array<number>(SUMMARY_BUCKETS).fill(0);
  for (const entry of entries) {
    const e = viewOf(entry);
    const b = bucketOf(e.id);
    out[b] = (out[b]! ^ fnv1a(`${e.id}:${e.incarnation}:${e.state}`)) >>> 0;
  }
  return out;
}

/** Buckets whose hashes differ between two summaries (all of them if `theirs` is malformed). */
export function differingBuckets(mine: readonly number[], theirs: readonly number[]): number[] {
  const all = Array.from({ length: SUMMARY_BUCKETS }, (_, b) => b);
  if (!Array.isArray(theirs) || theirs.length !== SUMMARY_BUCKETS) return all;
  return all.filter((b) => mine[b] !== theirs[b]);
}
