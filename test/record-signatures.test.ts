import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { RecordSignatures, signedRecord } from '../agent/membership/record-signatures.ts';
import { ed25519Signer } from '../agent/p2p/ed25519-keys.ts';
import { decodeMessage, encodeMessage } from '../shared/wire/codec.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import { recordBody } from '../shared/wire/record-signature.ts';
import { memberRecord } from './helpers/records.ts';

/**
 * Issue 15, I4: a member's record carries its Ed25519 signature (its peer id's key) over a
 * canonical encoding of its other fields, so the record survives the wire and the codec's rebuild
 * (key order, a false flag dropped, undefined fields) and still verifies against its member,
 * whoever relays it; the codec bounds the new field and stays total.
 */

async function member() {
  const key = await generateKeyPair('Ed25519');
  return { id: peerIdFromPrivateKey(key).toString(), sign: ed25519Signer(key) };
}

/** `r` as a receiver holds it: encoded on the wire, decoded and rebuilt by the codec. */
function overTheWire(r: Heartbeat): Heartbeat {
  const d = decodeMessage(encodeMessage(r), 1 << 16);
  if (!d.ok) throw new Error(d.detail);
  return d.msg as Heartbeat;
}

describe('a record signed by its member (real Ed25519 keys)', () => {
  it('verifies after the wire and the codec, relayed by anyone; altered, or signed by another, it does not', async () => {
    const [a, b] = [await member(), await member()];
    // A false flag the codec drops, and fields in another order than the codec rebuilds them.
    const { peerId, ...rest } = memberRecord(a.id, { seq: 7, retiring: false });
    const sent = overTheWire(signedRecord({ ...rest, peerId }, a.sign));
    expect(sent.retiring).toBeUndefined();
    expect(sent.sig?.byteLength).toBe(64);
    const checks = new RecordSignatures();
    expect(checks.check(sent, b.id)).toBeUndefined();
    expect(checks.check({ ...sent, monitor: 'http://forged' }, b.id)).toMatchObject({ reason: 'signature' });
    expect(checks.check({ ...sent, seq: 8 }, b.id)).toMatchObject({ reason: 'signature' });
    const byB = signedRecord(memberRecord(a.id, { seq: 9 }), b.sign);
    expect(checks.check(byB, b.id)).toMatchObject({ reason: 'signature' });
    expect(checks.check(byB, a.id)).toMatchObject({ reason: 'signature' }); // signed is checked even direct
    // byB's second check is the same version, remembered as failed: 4 verifications for 5 checks.
    expect(checks.verified).toBe(4);
  });

  it('the signed bytes leave out the signature and undefined fields', () => {
    const r = memberRecord('P', { seq: 3 });
    const same = { ...r, bundle: undefined, sig: new Uint8Array(64) } as unknown as Heartbeat;
    expect(recordBody(same)).toEqual(recordBody(r));
    expect(recordBody({ ...r, seq: 4 })).not.toEqual(recordBody(r));
  });

  it('the codec bounds the signature: 64 bytes or the record is refused, never a throw', () => {
    for (const sig of [new Uint8Array(63), new Uint8Array(65), 'x'.repeat(64), [1, 2]]) {
      const d = decodeMessage(encodeMessage({ ...memberRecord('P'), sig } as unknown as Heartbeat), 1 << 16);
      expect(d).toMatchObject({ ok: false, reason: 'schema' });
    }
  });

  it('a peer id without an Ed25519 key never verifies; the remembered versions stay within their cap', () => {
    let calls = 0;
    const checks = new RecordSignatures(() => ++calls > 0, 2);
    for (let seq = 1; seq <= 3; seq++) checks.check({ ...memberRecord('P', { seq }), sig: new Uint8Array(64) }, 'Q');
    expect([checks.size, calls]).toEqual([2, 3]);
    const real = new RecordSignatures();
    expect(real.check({ ...memberRecord('not-a-peer-id'), sig: new Uint8Array(64) }, 'Q')).toMatchObject({
      reason: 'signature',
    });
  });
});
