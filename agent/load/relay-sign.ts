import type { PrivateKey } from '@libp2p/interface';
import { keyObjectSigner, verifyByPeerId } from '../p2p/ed25519-keys.ts';

/**
 * Signatures on relayed load reports and summaries, with the agent's libp2p identity key
 * (ed25519: the peer id carries the public key, so nothing else needs distributing). Measured on
 * the shared 2-core bench host at load ~64: ~220 µs per verify, ~140-170 µs per sign; a leader of
 * N members verifies ~N / 2 per second (loadInterval 2 s): ~0.5 % of a core at N = 50.
 */
export type Sign = (bytes: Uint8Array) => Promise<Uint8Array>;

/** What both relay directions sign and check with; `now` is the wall clock (epoch ms). */
export interface RelaySigning {
  self: string;
  now: () => number;
  sign: Sign;
  verifier: Verifier;
}

/** The leader a member follows, and its term. */
export type Leader = { peerId: string; term: number };

export function signWith(key: PrivateKey): Sign {
  // Imported once (ed25519-keys.ts): a load report is signed every loadInterval.
  const signer = keyObjectSigner(key);
  return async (bytes) => signer.sign(bytes);
}

/**
 * Checks signatures by peer id; a peer id that carries no ed25519 key never verifies. The key each
 * peer id carries is parsed and imported once, in the same table member records are checked with
 * (ed25519-keys.ts verifyByPeerId).
 */
export class Verifier {
  async verify(peer: string, bytes: Uint8Array, sig: Uint8Array): Promise<boolean> {
    return verifyByPeerId(peer, bytes, sig);
  }
}
