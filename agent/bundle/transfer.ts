import type { Connection, Stream } from '@libp2p/interface';
import { FrameReader, line, NOT_LEADER, PULL_PROTOCOL, sendAll, sha256 } from '../../shared/wire/bundle-transfer.ts';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import { pullFromPeers, serveByHash } from '../content/by-hash.ts';
import type { PoolNode } from '../p2p/node.ts';
import type { BundleStore } from './store.ts';

/** Members asked for a bundle they do not advertise, per fetch. */
const MAX_BLIND_PULLS = 4;

export interface BundleSource {
  name: string;
  fetch(sha: string): Promise<Buffer>;
}

type Log = (msg: string, fields: Record<string, unknown>) => void;

/** Serves a bundle this node holds to a peer that asks for it by sha256 (`/poolparty/bundle/1`). */
export function serveBundle(stream: Stream, store: BundleStore): Promise<void> {
  return serveByHash(stream, (sha) => store.read(sha), 'bundle');
}

export interface PullOptions {
  node: PoolNode;
  sources?: BundleSource[] | undefined;
  leaderHeartbeat: () => Heartbeat | null;
  peers: () => Heartbeat[];
  maxBytes: number;
  log: Log;
}

/** Pulls from the configured sources, then the leader, then members that have applied it. */
export async function pullBundle(sha: string, o: PullOptions): Promise<Buffer> {
  const errors: string[] = [];
  for (const source of o.sources ?? []) {
    try {
      const bytes = await source.fetch(sha);
      if (sha256(bytes) !== sha) throw new Error(`served sha256 ${sha256(bytes)}`);
      o.log('bundle-fetched', { sha, source: source.name, bytes: bytes.length });
      return bytes;
    } catch (err) {
      errors.push(`${source.name}: ${(err as Error).message}`);
    }
  }
  const leader = o.leaderHeartbeat();
  // The leader, then members that applied it, then a few others (one may hold it in its cache
  // without having applied it, e.g. a leader of another cloud, or a node provisioned with it).
  const others = o.peers().filter((p) => p.peerId !== leader?.peerId);
  const sources = [
    ...(leader ? [leader.peerId] : []),
    ...others.filter((p) => p.bundle === sha).map((p) => p.peerId),
    ...others
      .filter((p) => p.bundle !== sha)
      .slice(0, MAX_BLIND_PULLS)
      .map((p) => p.peerId),
  ];
  return pullFromPeers(
    sha,
    { node: o.node, protocol: PULL_PROTOCOL, what: 'bundle', peers: sources, maxBytes: o.maxBytes },
    errors,
  );
}

export interface PushOptions {
  store: BundleStore;
  maxBytes: number;
  /** Default maxUnavailable of a rollout pushed without one. */
  maxUnavailable: number;
  leading: () => boolean;
  leaderHeartbeat: () => Heartbeat | null;
  /** The rollout still granting members (neither complete nor halted), if any. */
  rolloutInProgress: () => { sha: string; done: number; total: number } | null;
  startRollout: (sha: string, maxUnavailable: number, cloud?: string) => void;
  log: Log;
}

/**
 * Accepts a bundle pushed by the CLI (`/poolparty/bundle-push/1`) on the leader: verified by
 * sha256, stored, and rolled out, one rollout at a time.
 */
export async function acceptPush(stream: Stream, conn: Connection, o: PushOptions): Promise<void> {
  const refuse = async (error: string, code?: typeof NOT_LEADER) => {
    o.log('bundle-push-refused', { from: conn.remotePeer.toString(), error });
    await sendAll(stream, line({ ok: false, error, ...(code ? { code } : {}) }));
    await stream.close();
  };
  try {
    const reader = new FrameReader(stream);
    const header = await reader.header();
    if (!o.leading())
      return await refuse(`not the leader (leader: ${o.leaderHeartbeat()?.peerId ?? 'unknown'})`, NOT_LEADER);
    const sha = String(header.sha256 ?? '');
    if (!/^[0-9a-f]{64}$/.test(sha)) return await refuse('sha256: expected a hex digest');
    const bytes = await reader.body(Number(header.size), o.maxBytes);
    if (sha256(bytes) !== sha) return await refuse(`bundle sha256 is ${sha256(bytes)}, not ${sha}`);
    await o.store.put(sha, Buffer.from(bytes));
    const maxUnavailable =
      Number.isSafeInteger(header.maxUnavailable) && (header.maxUnavailable as number) > 0
        ? (header.maxUnavailable as number)
        : o.maxUnavailable;
    const cloud = typeof header.cloud === 'string' && header.cloud.length > 0 ? header.cloud : undefined;
    const busy = o.rolloutInProgress();
    if (busy && busy.sha !== sha) {
      return await refuse(
        `a rollout of ${busy.sha.slice(0, 12)} is in progress (${busy.done}/${busy.total} applied): one rollout at a time, push again when it completes or halts`,
      );
    }
    // The same bundle pushed again (a retried configure) joins the rollout already running.
    if (!busy) o.startRollout(sha, maxUnavailable, cloud);
    o.log('bundle-pushed', { from: conn.remotePeer.toString(), sha, bytes: bytes.length, maxUnavailable });
    await sendAll(stream, line({ ok: true, sha256: sha }));
    await stream.close();
  } catch (err) {
    await refuse((err as Error).message).catch(() => stream.abort(err as Error));
  }
}
