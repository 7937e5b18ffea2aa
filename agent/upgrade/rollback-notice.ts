import { MAX_GATE_MS } from '../../shared/upgrade/protocol.ts';
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
 * How a leader tells a member of a run without returning it yet (`/poolparty/upgrade/1`, beside
 * the requests of shared/upgrade/protocol.ts). An agent older than this type answers it with a
 * refusal (`type: unknown …`, no `retry`): it is not told, and it is never returned out of turn.
 */
export interface RollbackHoldRequest {
  type: 'rollback-hold';
  /** The signed request as the CLI sent it (the member verifies it with its own key). */
  request: unknown;
  /** The run's gate (ms): a member that leads next judges returns by it. */
  gateMs: number;
}

/** A `rollback-hold` request line, or a one-line reason when it is malformed. */
export function parseRollbackHold(v: Record<string, unknown>): RollbackHoldRequest | string {
  const gateMs = v.gateMs;
  if (!Number.isSafeInteger(gateMs) || (gateMs as number) <= 0 || (gateMs as number) > MAX_GATE_MS)
    return `gateMs: expected whole milliseconds from 1 to ${MAX_GATE_MS}`;
  return { type: 'rollback-hold', request: v.request, gateMs: gateMs as number };
}

/**
 * The hold as leaders of session 11 sent it, inside a `rollback` request (`{hold, gateMs}` where
 * a return carries the signed request itself), read as a `rollback-hold`; null for a return.
 */
export function legacyHold(request: unknown): RollbackHoldRequest | null {
  if (typeof request !== 'object' || request === null || !('hold' in request)) return null;
  const r = request as Record<string, unknown>;
  const hold = parseRollbackHold({ request: r.hold, gateMs: r.gateMs });
  return typeof hold === 'string' ? null : hold;
}

/** What a member's `status` answer says of the last run it was told of (its `rollback` field). */
export interface RollbackMark {
  id: string;
  /** When it returned for that run (its clock); absent while it was only told. */
  returnedAt?: number;
}

/** The `rollback` field of a `status` answer, checked; null when absent, malformed or not answered. */
export function rollbackMarkOf(answer: Record<string, unknown>): RollbackMark | null {
  if (answer.ok !== true || typeof answer.rollback !== 'object' || answer.rollback === null) return null;
  const r = answer.rollback as Record<string, unknown>;
  if (typeof r.id !== 'string') return null;
  return { id: r.id, ...(Number.isSafeInteger(r.returnedAt) ? { returnedAt: r.returnedAt as number } : {}) };
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
