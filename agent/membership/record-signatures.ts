import { createHash } from 'node:crypto';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import { recordBody } from '../../shared/wire/record-signature.ts';
import { verifyByPeerId } from '../p2p/ed25519-keys.ts';

/** Checks `sig` as `peer`'s signature of `bytes` (Ed25519, the key its peer id carries). */
export type RecordVerifier = (peer: string, bytes: Uint8Array, sig: Uint8Array) => boolean;

/** Why a record's signature was refused (the reject reason counted, and its one-line detail). */
export type SignatureRefusal = { reason: 'unsigned' | 'signature'; detail: string };

/**
 * Versions checked, remembered with their outcome (at ~100 B a key, ~400 kB at most). Several per
 * member a pool may hold (maxMembers is 1000 by default): a member's record changes a few times in
 * a minute at most, and an older version is not looked at again (member-records.ts checks a record
 * only when it is newer than the one held).
 */
export const MAX_CHECKED = 4096;

/**
 * Records checked against their member's signature (issue 15, I4: a member speaks only for its own
 * instance — nor may another member speak for it by relaying a record it never signed).
 *
 * Every path that keeps a record (gossip, a pushed record, a synced table) asks here first, before
 * the binding gate: a forged record must not get its member refused either. A record kept is
 * signed by its member, or arrives directly from it:
 * - signed: the signature must verify with the key the record's peer id carries, whoever sent it;
 * - unsigned (an agent of the release before session 21, which drops `sig` from what it relays
 *   too): kept only from the member itself — on the members topic (gossipsub's StrictSign proves
 *   the publisher, and gossip.ts refuses a record whose peerId is not its publisher's), pushed on
 *   its own connection (record-push.ts), or its own record in a table it synced to us — never when
 *   relayed in a third peer's table. Once every agent signs, a later release may refuse unsigned
 *   records on every path.
 *
 * Cost: each distinct version (peer, seq, content and signature) is verified once while remembered,
 * failures included (a forgery repeated at every sync costs one check); a check is ~100-220 µs
 * (agent/load/relay-sign.ts), a remembered one an encoding and a sha256 of ~0.5 kB.
 */
export class RecordSignatures {
  readonly #verify: RecordVerifier;
  readonly #max: number;
  /** Outcome by version key, oldest first (insertion order). */
  readonly #checked = new Map<string, boolean>();
  /** Signatures verified (not remembered ones): what the cache saves is what this does not count. */
  verified = 0;

  constructor(verify: RecordVerifier = verifyByPeerId, max = MAX_CHECKED) {
    this.#verify = verify;
    this.#max = max;
  }

  /** Undefined when `r` may be kept as sent by `from` (its authenticated sender); else why not. */
  check(r: Heartbeat, from: string): SignatureRefusal | undefined {
    if (r.sig === undefined) {
      if (from === r.peerId) return undefined; // rolling upgrade: the member itself, see above
      return { reason: 'unsigned', detail: `unsigned record of ${r.peerId} (seq ${r.seq}) relayed by ${from}` };
    }
    const body = recordBody(r);
    const key = `${r.peerId}/${r.seq}/${createHash('sha256').update(body).update(r.sig).digest('base64')}`;
    let ok = this.#checked.get(key);
    if (ok === undefined) {
      this.verified++;
      ok = this.#verify(r.peerId, body, r.sig);
      if (this.#checked.size >= this.#max) this.#checked.delete(this.#checked.keys().next().value as string);
      this.#checked.set(key, ok);
    }
    if (ok) return undefined;
    return {
      reason: 'signature',
      detail: `record of ${r.peerId} (seq ${r.seq}) from ${from}: not its member's signature`,
    };
  }

  /** How many versions are remembered (tests: the cap holds). */
  get size(): number {
    return this.#checked.size;
  }
}

/** `r` with its member's signature, made by `sign` (the member's own key); `r` as it is without one. */
export function signedRecord(r: Heartbeat, sign: ((bytes: Uint8Array) => Uint8Array) | undefined): Heartbeat {
  if (!sign) return r;
  const { sig: _old, ...fields } = r;
  return { ...fields, sig: sign(recordBody(fields as Heartbeat)) };
}
