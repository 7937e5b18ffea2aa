import type { SwimConfig } from './config.ts';
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
export function digestOf(table: MemberTable, tombstones: Tombstones): DigestEntry[] {
  const out: DigestEntry[] = [];
  for (const m of table.all()) out.push({ id: m.id, incarnation: m.incarnation, state: m.state });
  for (const [id, incarnation] of tombstones.entries()) {
    if (table.state(id) === undefined) out.push({ id, incarnation, state: 'dead' });
  }
  return out;
}
