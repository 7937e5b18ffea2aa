import type { Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { FrameReader, line, pullOver, sendAll } from '../../shared/wire/bundle-transfer.ts';
import type { PoolNode } from '../p2p/node.ts';

/**
 * Content addressed by sha256 between peers: what bundles and agent artifacts both travel as.
 * One framing (shared/wire/bundle-transfer.ts): the asker sends `{"sha256"}`, the holder answers
 * `{"ok":true,"size"}` + bytes or `{"ok":false,"error"}`; the asker verifies the hash before
 * anything else sees the bytes. Each kind of content has its own protocol id and store.
 */

/** Looks content up by its (checked) hex sha256; null when not held. */
export type ReadByHash = (sha: string) => Promise<Buffer | null>;

/** Serves content this node holds to a peer that asks for it by sha256. */
export async function serveByHash(stream: Stream, read: ReadByHash, what: string): Promise<void> {
  try {
    const header = await new FrameReader(stream).header();
    const sha = String(header.sha256 ?? '');
    const bytes = /^[0-9a-f]{64}$/.test(sha) ? await read(sha) : null;
    if (!bytes) await sendAll(stream, line({ ok: false, error: `${what} ${sha.slice(0, 12)} not held here` }));
    else {
      await sendAll(stream, line({ ok: true, size: bytes.length }));
      await sendAll(stream, bytes);
    }
    await stream.close();
  } catch (err) {
    stream.abort(err as Error);
  }
}

export interface PullFromPeersOptions {
  node: PoolNode;
  protocol: string;
  /** What the content is, for errors ('bundle', 'artifact'). */
  what: string;
  /** Peer ids to ask, in order. */
  peers: readonly string[];
  maxBytes: number;
  /** Per peer (ms). */
  timeout?: number;
}

/** Asks each peer in turn for `sha`; the first verified copy wins. Errors name every peer asked. */
export async function pullFromPeers(sha: string, o: PullFromPeersOptions, errors: string[] = []): Promise<Buffer> {
  for (const peer of o.peers) {
    try {
      const stream = await o.node.dialProtocol(peerIdFromString(peer), o.protocol, {
        signal: AbortSignal.timeout(o.timeout ?? 10_000),
      });
      return await pullOver(stream, sha, o.maxBytes);
    } catch (err) {
      errors.push(`${peer.slice(-8)}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no peer served ${o.what} ${sha.slice(0, 12)} (${errors.join('; ') || 'no source known'})`);
}
