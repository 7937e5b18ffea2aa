import { PUSH_PROTOCOL, pushOver } from '../shared/wire/bundle-transfer.ts';
import { type LeaderTarget, pushToLeader } from './leader-push.ts';

// configure, upgrade and the tests import these from here.
export { BundlePushError, NotLeaderError, pushToLeader } from './leader-push.ts';

export interface PushOptions extends LeaderTarget {
  bytes: Buffer;
  maxUnavailable?: number;
  /** The cloud the bundle configures: only its members apply it. */
  cloud?: string;
}

/**
 * Hands a bundle to the leader over `/poolparty/bundle-push/1` (leader-push.ts: as a short-lived
 * peer holding the pool key). The leader then serves the bundle to the others itself. Resolves
 * with the multiaddr the bundle went to.
 */
export async function pushBundle(opts: PushOptions): Promise<string> {
  return pushToLeader(opts, PUSH_PROTOCOL, 'bundle', (stream) =>
    pushOver(stream, opts.bytes, {
      ...(opts.maxUnavailable !== undefined ? { maxUnavailable: opts.maxUnavailable } : {}),
      ...(opts.cloud !== undefined ? { cloud: opts.cloud } : {}),
    }),
  );
}
