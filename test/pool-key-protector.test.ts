import { createHash, randomBytes } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { MessageStream, Stream } from '@libp2p/interface';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { multiaddrConnectionPair } from '@libp2p/utils';
import { createLibp2p, type Libp2p } from 'libp2p';
import { afterEach, describe, expect, it } from 'vitest';
import { XSalsa20Stream } from '../agent/p2p/pool-key-cipher.ts';
import { poolKeyProtector, poolKeySecret } from '../agent/p2p/pool-key-protector.ts';
import { generatePoolKey, PoolKeyError } from '../shared/pool-key.ts';

const ECHO = '/poolparty/test-echo/1';
type Protector = 'pnet' | 'ours';
/** Writes are views at varying offsets of this much random data. */
const PATTERN_BYTES = 1 << 20;

/**
 * The pool key's protector against @libp2p/pnet on real TCP connections on 127.0.0.1: agents still
 * on pnet and agents on ours share a pool during a rolling upgrade, so each must reach the other.
 */
describe('pool key protector', () => {
  const nodes: Libp2p[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  /** A started node with only what the test needs: TCP, the protector, noise, yamux, an echo handler. */
  async function node(protector: Protector, poolKey: Uint8Array): Promise<Libp2p> {
    const n = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionProtector: protector === 'pnet' ? preSharedKey({ psk: poolKey }) : poolKeyProtector({ psk: poolKey }),
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionMonitor: { enabled: false },
      connectionManager: { dialTimeout: 3_000 },
    });
    nodes.push(n);
    await n.handle(ECHO, async (stream) => {
      for await (const chunk of stream) if (!stream.send(chunk)) await stream.onDrain();
      await stream.close();
    });
    return n;
  }

  /** Sends `total` bytes in `chunk`-byte writes and reads the echo: the SHA-256 of each way. */
  async function echo(from: Libp2p, to: Libp2p, total: number, chunk: number) {
    const stream: Stream = await from.dialProtocol(to.getMultiaddrs()[0]!, ECHO);
    const pattern = randomBytes(PATTERN_BYTES + chunk);
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let receivedBytes = 0;
    const reading = (async () => {
      for await (const c of stream) {
        received.update(c.subarray());
        receivedBytes += c.byteLength;
      }
    })();
    for (let at = 0, i = 0; at < total; at += chunk, i++) {
      const off = (i * 7_919) % PATTERN_BYTES;
      const buf = pattern.subarray(off, off + Math.min(chunk, total - at));
      sent.update(buf);
      if (!stream.send(buf)) await stream.onDrain();
    }
    await stream.close();
    await reading;
    return { sent: sent.digest('hex'), received: received.digest('hex'), receivedBytes };
  }

  const pairs: [Protector, Protector][] = [
    ['pnet', 'ours'],
    ['ours', 'pnet'],
    ['ours', 'ours'],
  ];

  it.each(pairs)('%s dials %s with the same key: connects, and a stream echoes data both ways', async (a, b) => {
    const key = generatePoolKey();
    const [dialer, listener] = [await node(a, key), await node(b, key)];
    // Sizes that end inside a 64-byte block, so each side's position carries across writes.
    const r = await echo(dialer, listener, 100_003, 1_001);
    expect(r.receivedBytes).toBe(100_003);
    expect(r.received).toBe(r.sent);
    // And the other way, on the connection the listener now holds.
    const back = await echo(listener, dialer, 5_000, 77);
    expect(back.received).toBe(back.sent);
    expect(dialer.getConnections(listener.peerId)).toHaveLength(1);
  });

  it.each(pairs)('%s dials %s with another key: the dial fails and neither side opens a connection', async (a, b) => {
    const [dialer, listener] = [await node(a, generatePoolKey()), await node(b, generatePoolKey())];
    const opened: string[] = [];
    for (const [name, n] of [
      ['dialer', dialer],
      ['listener', listener],
    ] as const) {
      n.addEventListener('connection:open', () => opened.push(name));
    }
    await expect(dialer.dialProtocol(listener.getMultiaddrs()[0]!, ECHO)).rejects.toThrow();
    // Noise needs the dialer's third message to finish the listener's side, and the dialer failed.
    expect(opened).toEqual([]);
    expect(listener.getConnections()).toEqual([]);
  });

  it('carries 20 MB each way over one stream between two nodes with our protector', async () => {
    const key = generatePoolKey();
    const [a, b] = [await node('ours', key), await node('ours', key)];
    const total = 20 * 2 ** 20;
    const r = await echo(a, b, total, 65_537);
    expect(r.receivedBytes).toBe(total);
    expect(r.received).toBe(r.sent);
  });

  it('reads the 32-byte key from a swarm key file and refuses a malformed one', () => {
    const file = generatePoolKey();
    const hex = new TextDecoder().decode(file).split('\n')[2]!;
    expect(Buffer.from(poolKeySecret(file)).toString('hex')).toBe(hex);
    const crlf = new TextEncoder().encode(`/key/swarm/psk/1.0.0/\r\n/base16/\r\n${hex}\r\n`);
    expect(Buffer.from(poolKeySecret(crlf)).toString('hex')).toBe(hex);
    for (const bad of ['', '/key/swarm/psk/1.0.0/\n/base16/\n', `/key/swarm/psk/1.0.0/\n/base16/\n${hex.slice(2)}`]) {
      expect(() => poolKeyProtector({ psk: new TextEncoder().encode(bad) })).toThrow(PoolKeyError);
    }
    expect(() =>
      poolKeySecret(new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${'zz'.repeat(32)}`)),
    ).toThrow(PoolKeyError);
  });

  it("on the wire: its nonce, then XSalsa20(key, sender nonce); ciphertext in the nonce's chunk is read", async () => {
    const file = generatePoolKey();
    const key = poolKeySecret(file);
    const [ours, raw] = multiaddrConnectionPair();
    const fromRaw = received(raw);
    const protecting = poolKeyProtector({ psk: file })().protect(ours);
    // The raw side sends its nonce and its first ciphertext in one chunk.
    const rawNonce = randomBytes(24);
    const hello = new TextEncoder().encode('hello from the raw side, longer than one block of 64 bytes......');
    raw.send(Buffer.concat([rawNonce, new XSalsa20Stream(key, rawNonce).update(hello)]));
    const conn = await protecting;
    const toOurs = received(conn);
    await toOurs.atLeast(hello.byteLength);
    expect(Buffer.from(toOurs.bytes()).equals(Buffer.from(hello))).toBe(true);

    const reply = randomBytes(1000);
    conn.send(reply);
    await fromRaw.atLeast(24 + reply.byteLength);
    const wire = fromRaw.bytes();
    const ourNonce = wire.subarray(0, 24);
    expect(Buffer.from(wire.subarray(24)).equals(reply)).toBe(false);
    expect(Buffer.from(new XSalsa20Stream(key, ourNonce).update(wire.subarray(24))).equals(reply)).toBe(true);
    await conn.close();
  });
});

/** Everything a stream delivers from now on; `atLeast(n)` resolves once n bytes have come. */
function received(stream: MessageStream) {
  const chunks: Uint8Array[] = [];
  let count = 0;
  let wait: { n: number; done: () => void } | undefined;
  stream.addEventListener('message', (evt) => {
    chunks.push(evt.data.subarray());
    count += evt.data.byteLength;
    if (wait && count >= wait.n) wait.done();
  });
  return {
    bytes: () => Buffer.concat(chunks),
    atLeast: (n: number) => (count >= n ? Promise.resolve() : new Promise<void>((done) => (wait = { n, done }))),
  };
}
