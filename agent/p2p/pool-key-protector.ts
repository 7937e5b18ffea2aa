import { randomFillSync } from 'node:crypto';
import type { AbortOptions, ConnectionProtector, Logger, MultiaddrConnection } from '@libp2p/interface';
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils';
import { PoolKeyError } from '../../shared/pool-key.ts';
import { KEY_BYTES, NONCE_BYTES, XSalsa20Stream } from './pool-key-cipher.ts';

/**
 * The pool key's connection protector: every connection is XORed with XSalsa20 under the pool
 * key before noise starts, so a process without the key cannot complete a handshake. The wire
 * protocol is libp2p pnet v1's, byte for byte, so agents using @libp2p/pnet and agents using this
 * connect to each other (a pool mid-upgrade mixes both):
 *
 *   1. each side sends 24 random bytes (its nonce) and reads the other's 24;
 *   2. from then on, what a side sends is XORed with XSalsa20(key, its own nonce), and what it
 *      receives with XSalsa20(key, the remote nonce), each a stream over the direction's bytes.
 *
 * Nothing is authenticated here: a wrong key shows as garbage, and noise's handshake fails on it.
 *
 * Why not @libp2p/pnet: its cipher (the `xsalsa20` package) keeps every instance in one WASM
 * memory per process and never frees an instance's slot; once any write grows that memory, every
 * other instance's view detaches and each of their next writes grows it again, until the 64 MB
 * cap throws in the middle of a send and the process dies. Here each direction owns a fixed-size
 * state (pool-key-cipher.ts) and nothing is shared.
 */

/** How long the nonce exchange may take when libp2p passes no signal (it passes its upgrade's). */
export const NONCE_EXCHANGE_MS = 10_000;

/** Decodes a swarm key v1 file (`/key/swarm/psk/1.0.0/`, `/base16/`, 64 hex digits) to its 32 bytes. */
export function poolKeySecret(swarmKey: Uint8Array): Uint8Array {
  const lines = new TextDecoder().decode(swarmKey).split(/\r\n|\r|\n/);
  const hex = lines[2] ?? '';
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== KEY_BYTES * 2) {
    throw new PoolKeyError('pool key: the third line must be the 32-byte key in hex (swarm key v1)');
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export interface PoolKeyProtectorInit {
  /** The pool key file's bytes (swarm key v1). */
  psk: Uint8Array;
}

/** libp2p's `connectionProtector` option: `poolKeyProtector({ psk: poolKey })`. */
export function poolKeyProtector(init: PoolKeyProtectorInit): () => ConnectionProtector {
  const key = poolKeySecret(init.psk);
  return () => new PoolKeyProtector(key);
}

class PoolKeyProtector implements ConnectionProtector {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  async protect(connection: MultiaddrConnection, options?: AbortOptions): Promise<MultiaddrConnection> {
    const log = connection.log.newScope('pool-key');
    const signal = options?.signal ?? AbortSignal.timeout(NONCE_EXCHANGE_MS);
    const localNonce = randomFillSync(new Uint8Array(NONCE_BYTES));
    const bytes = byteStream(connection);
    const [remote] = await Promise.all([
      bytes.read({ bytes: NONCE_BYTES, signal }),
      bytes.write(localNonce, { signal }),
    ]);
    log.trace('nonces exchanged');
    // unwrap() hands back any bytes that arrived after the nonce: they are the first ciphertext.
    return new PoolKeyConnection(bytes.unwrap(), log, {
      send: new XSalsa20Stream(this.#key, localNonce),
      receive: new XSalsa20Stream(this.#key, remote.subarray()),
    });
  }
}

type SendData = Parameters<AbstractMultiaddrConnection['sendData']>[0];

/** The protected connection: ciphertext below (`inner`), plaintext above. */
class PoolKeyConnection extends AbstractMultiaddrConnection {
  readonly #inner: MultiaddrConnection;
  readonly #send: XSalsa20Stream;

  constructor(inner: MultiaddrConnection, log: Logger, ciphers: { send: XSalsa20Stream; receive: XSalsa20Stream }) {
    super({ remoteAddr: inner.remoteAddr, direction: inner.direction, log });
    this.#inner = inner;
    this.#send = ciphers.send;
    const receive = ciphers.receive;
    inner.addEventListener('message', (evt) => {
      // A throw in a listener would reach the process as an uncaught exception.
      let plain: Uint8Array;
      try {
        plain = receive.update(evt.data);
      } catch (err) {
        this.abort(err as Error);
        return;
      }
      this.onData(plain);
    });
    inner.addEventListener('drain', () => this.onMuxerDrain());
    inner.addEventListener('close', (evt) => {
      if (evt.error == null) this.onTransportClosed();
      else if (evt.local) this.abort(evt.error);
      else this.onRemoteReset();
    });
  }

  sendData(data: SendData): { sentBytes: number; canSendMore: boolean } {
    return { sentBytes: data.byteLength, canSendMore: this.#inner.send(this.#send.update(data)) };
  }

  sendReset(err: Error): void {
    this.#inner.abort(err);
  }

  sendPause(): void {
    this.#inner.pause();
  }

  sendResume(): void {
    this.#inner.resume();
  }

  async sendClose(options?: AbortOptions): Promise<void> {
    await this.#inner.close(options);
  }
}
