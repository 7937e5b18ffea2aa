// Bundled into the single-file agent artifact by scripts/build-artifact.mjs in place of
// @chainsafe/as-chacha20poly1305 and @chainsafe/as-sha256, noise's WebAssembly cipher and hash
// (never run from here). Noise imports both at load and instantiates the cipher there, so the
// modules would be compiled, and their memories allocated, in every agent even though the agent's
// noise crypto seals and hashes with node:crypto (agent/p2p/noise-crypto.ts). Left out, no agent
// compiles WebAssembly at all (BENCHMARKS.md, session 20, "noise without WebAssembly"). Whatever
// still calls one of them fails loudly: a handshake that cannot seal, not a silent fallback.

/** What anything still using noise's WebAssembly crypto in the artifact throws. */
export class NoWasmCryptoError extends Error {
  name = 'NoWasmCryptoError';
}

const unavailable = (what) => () => {
  throw new NoWasmCryptoError(`${what}: the artifact carries no WebAssembly crypto (agent/p2p/noise-crypto.ts)`);
};

/** as-chacha20poly1305's instance of its module: nothing to instantiate. */
export function newInstance() {
  return {};
}

/** as-chacha20poly1305's cipher: noise builds one at load and, with the agent's crypto, never uses it. */
export class ChaCha20Poly1305 {
  seal = unavailable('ChaCha20Poly1305.seal');
  open = unavailable('ChaCha20Poly1305.open');
}

/** as-sha256's one-shot hash, which noise's asCrypto.hashSHA256 would call. */
export const digest = unavailable('as-sha256 digest');
