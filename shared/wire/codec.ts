import { decode as cborDecode, encode as cborEncode } from 'cborg';
import { type DecodeResult, isObject, metrics, schema } from './field-checks.ts';
import { WIRE_VERSION, type WireMessage } from './heartbeat.ts';
import { checkByType } from './message-checks.ts';

/**
 * Encoding and validation of gossip messages (wire v2: CBOR). Runs for every inbound message on
 * every node, so the checks are hand-written (no schema library), allocation-light, and never
 * throw: anything a peer sends is either a valid message or a reason to reject it.
 */

// What the agent imports from here; the checks live in their own modules.
export { type DecodeResult, type RejectReason, WIRE_LIMITS } from './field-checks.ts';
export { checkRecord } from './message-checks.ts';

/** CBOR options that refuse what JSON could not carry either (and big integers, which no field uses). */
const DECODE_OPTIONS = {
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  strict: true,
} as const;

export function encodeMessage(msg: WireMessage): Uint8Array {
  return cborEncode(msg);
}

/** Decodes CBOR bytes from a peer; undefined when they are not well-formed CBOR. */
export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return cborDecode(bytes, DECODE_OPTIONS);
  } catch {
    return undefined;
  }
}

export function decodeMessage(bytes: Uint8Array, maxBytes: number): DecodeResult {
  if (bytes.byteLength > maxBytes) {
    return { ok: false, reason: 'too-large', detail: `message of ${bytes.byteLength} bytes exceeds ${maxBytes}` };
  }
  const value = decodeCbor(bytes);
  if (value === undefined) return { ok: false, reason: 'not-cbor', detail: 'message is not well-formed CBOR' };
  if (!isObject(value)) return schema('message is not an object');
  if (value.v !== WIRE_VERSION)
    return { ok: false, reason: 'version', detail: `unsupported version ${String(value.v)}` };
  return checkByType(value);
}

/** Checks a metric map from a peer (load reports); the reason when it is not one. */
export function checkMetrics(value: unknown): string | undefined {
  return metrics(value);
}
