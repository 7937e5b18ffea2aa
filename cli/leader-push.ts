import type { Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { readPoolKey } from '../shared/pool-key.ts';
import { NOT_LEADER, type PushAnswer } from '../shared/wire/bundle-transfer.ts';
import { OperationError } from './command.ts';
import { createDialerNode } from './dialer-node.ts';

/**
 * Pushing something to the pool's leader: the CLI enters the pool's private network as a
 * short-lived, dial-only peer (a fresh identity each time, the pool key for pnet), dials the
 * leader on a push protocol, lets the caller talk on the stream and leaves. Configuration bundles
 * (bundle-push.ts) and upgrade artifacts (upgrade/push.ts) both go this way.
 */

/** Which leader to reach, and the key that lets the CLI in. */
export interface LeaderTarget {
  /** The pool key on this machine: without it no pool member completes a handshake. */
  poolKeyFile: string;
  leaderPeerId: string;
  /** The leader's listen multiaddrs (from /cluster), without /p2p. */
  leaderAddrs: string[];
  /** Per dial attempt (ms). Default 10000. */
  dialTimeout?: number;
}

/**
 * The leader could not be reached over libp2p, or refused what was pushed. (Named for the first
 * thing pushed; the name is what callers and tests match, so it stays.)
 */
export class BundlePushError extends OperationError {
  override name = 'BundlePushError';
}

/** The peer asked is not (or no longer) the leader: the election moved on, ask again. */
export class NotLeaderError extends BundlePushError {
  override name = 'NotLeaderError';
}

/**
 * Dials the leader on `protocol`, lets `push` talk on the stream, and leaves; resolves with the
 * multiaddr it reached. A refusal is a BundlePushError (NotLeaderError when the peer no longer
 * leads) naming `what` was refused.
 */
export async function pushToLeader(
  opts: LeaderTarget,
  protocol: string,
  what: string,
  push: (stream: Stream) => Promise<PushAnswer>,
): Promise<string> {
  if (opts.leaderAddrs.length === 0) throw new BundlePushError(`leader ${opts.leaderPeerId} announces no address`);
  const node = await createDialerNode({ poolKey: await readPoolKey(opts.poolKeyFile) });
  try {
    const errors: string[] = [];
    for (const addr of opts.leaderAddrs) {
      const target = multiaddr(addr.includes('/p2p/') ? addr : `${addr}/p2p/${opts.leaderPeerId}`);
      let stream: Stream;
      try {
        stream = await node.dialProtocol(target, protocol, { signal: AbortSignal.timeout(opts.dialTimeout ?? 10_000) });
      } catch (err) {
        errors.push(`${addr}: ${(err as Error).message}`);
        continue;
      }
      const answer = await push(stream);
      if (!answer.ok) {
        const why = answer.error ?? 'unknown error';
        const Err = answer.code === NOT_LEADER ? NotLeaderError : BundlePushError;
        throw new Err(`the leader refused the ${what}: ${why}`);
      }
      return target.toString();
    }
    throw new BundlePushError(`cannot reach the leader ${opts.leaderPeerId}: ${errors.join('; ')}`);
  } finally {
    await node.stop();
  }
}
