import { encode } from 'cborg';
import type { Heartbeat } from './heartbeat.ts';

/**
 * What a member signs of its own record (issue 15, I4): every field but `sig`, so a record relayed
 * in another member's sync table can be checked against the member it describes. `seq` is signed
 * with the rest: an older record of the member, replayed, still carries its older seq and loses to
 * the newer one (newest seq wins), whoever relays it.
 *
 * Canonical: the bytes depend on the record's values only, not on how the sender built the object
 * or how the codec rebuilt it — CBOR with map keys sorted (cborg's default), fields whose value is
 * undefined left out at every depth (the codec never rebuilds them), and `retiring: false` read as
 * absent (the codec drops it: message-checks.ts `flag`). A field added to Heartbeat later is signed
 * too, and an agent that does not know it drops it and then refuses the record when relayed
 * (unknown keys never ride along): a new record field needs a new wire version, as a new topic does.
 */

/** An Ed25519 signature. */
export const RECORD_SIG_BYTES = 64;

/** Says what the bytes are: a record signature never verifies as another message of the same key. */
const DOMAIN = 'poolparty/record/2';

/** The bytes a member signs for `r` (its `sig`, if any, left out). */
export function recordBody(r: Heartbeat): Uint8Array {
  const { sig: _sig, ...fields } = r;
  if (fields.retiring === false) delete fields.retiring;
  return encode([DOMAIN, defined(fields)]);
}

/** `v` with every undefined-valued key left out, nested objects included (arrays are kept as they are). */
function defined(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = defined(x);
  return out;
}
