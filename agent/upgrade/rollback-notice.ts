import type { SignedRollback } from '../../shared/upgrade/rollback.ts';

/**
 * A `--rollback` run as every member keeps it (`<dataDir>/upgrade/rollback.json`): the signed
 * request, its id, the gate, and when this member returned for it. The leader tells every member
 * before the first one returns, so whichever member leads next can continue the run (its own
 * key verifies the request again), and a member asked twice for the same run returns once.
 */
export interface RollbackNotice {
  /** The request as the CLI signed it (verified by this member when it was kept). */
  signed: SignedRollback;
  /** rollbackId(signed.request): the run's name on the event stream and in GET /upgrade. */
  id: string;
  gateMs: number;
  /** When this member returned to its previous artifact for this run (its clock). */
  returnedAt?: number;
}

/**
 * How a leader tells a member of a run without returning it yet: inside the `rollback` request,
 * `{hold: signed, gateMs}` where a return carries the signed request itself. An agent older than
 * this finds no signed request there and refuses it: it is never returned out of turn.
 */
export interface HoldRollback {
  hold: SignedRollback;
  gateMs: number;
}

/** The hold inside a `rollback` request, or null when the request is a return. */
export function parseHold(request: unknown): HoldRollback | null {
  if (typeof request !== 'object' || request === null || !('hold' in request)) return null;
  const r = request as Record<string, unknown>;
  const gateMs = Number.isSafeInteger(r.gateMs) && (r.gateMs as number) > 0 ? (r.gateMs as number) : 0;
  return gateMs > 0 ? { hold: r.hold as SignedRollback, gateMs } : null;
}

/** rollback.json as written by this agent; null when unreadable (then no run is continued from it). */
export function parseRollbackNotice(text: string): RollbackNotice | null {
  try {
    const v = JSON.parse(text) as Partial<RollbackNotice>;
    if (typeof v.id !== 'string' || !/^[0-9a-f]{64}$/.test(v.id) || typeof v.signed !== 'object') return null;
    if (!Number.isSafeInteger(v.gateMs) || (v.gateMs as number) <= 0) return null;
    return {
      signed: v.signed as SignedRollback,
      id: v.id,
      gateMs: v.gateMs as number,
      ...(Number.isSafeInteger(v.returnedAt) ? { returnedAt: v.returnedAt as number } : {}),
    };
  } catch {
    return null;
  }
}
