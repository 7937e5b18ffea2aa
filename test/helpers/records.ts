import type { PrivateKey } from '@libp2p/interface';
import { signedRecord } from '../../agent/membership/record-signatures.ts';
import { ed25519Signer } from '../../agent/p2p/ed25519-keys.ts';
import type { MemberView } from '../../shared/wire/cluster.ts';
import type { Heartbeat, Intent } from '../../shared/wire/heartbeat.ts';

/** A member's record as gossip carries it: a valid heartbeat of `peerId` with `over` applied. */
export function memberRecord(peerId: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    v: 2,
    type: 'heartbeat',
    peerId,
    instanceId: peerId,
    cloud: 'web',
    addrs: [],
    monitor: '',
    startedAt: 0,
    seq: 1,
    version: '0',
    metrics: {},
    ...over,
  };
}

/** `r` signed by `key`, its member's identity key, as the member's agent signs its own (I4). */
export function signedBy(key: PrivateKey, r: Heartbeat): Heartbeat {
  return signedRecord(r, ed25519Signer(key));
}

/** A leader's intent as the control topic carries it: an expansion by one in term 1, `over` applied. */
export function intentRecord(over: Partial<Intent> = {}): Intent {
  return {
    v: 2,
    type: 'intent',
    peerId: 'L',
    seq: 1,
    term: 1,
    cloud: 'web',
    action: 1,
    kind: 'expand',
    count: 1,
    token: 't1',
    targets: [],
    reason: 'r',
    at: 1000,
    ...over,
  };
}

/** A member as the scaler sees it: alive in cloud 'web', instance `id`, load 0.5, `over` applied. */
export function memberView(id: string, over: Partial<MemberView> = {}): MemberView {
  return {
    peerId: `p-${id}`,
    instanceId: id,
    cloud: 'web',
    state: 'alive',
    addrs: [],
    monitor: '',
    lastSeenMs: 0,
    startedAt: 0,
    version: '0',
    metrics: { load: 0.5 },
    ...over,
  };
}
