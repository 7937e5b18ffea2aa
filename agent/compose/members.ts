import type { PrivateKey } from '@libp2p/interface';
import type { RuleWindow } from '../../shared/scaling/windows.ts';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import type { Repeat } from '../beat.ts';
import { leaseTimeout } from '../leadership/lease.ts';
import type { WaitOut } from '../leadership/wait-out.ts';
import { LoadExchange } from '../load/exchange.ts';
import { RelayDown } from '../load/relay-down.ts';
import { signWith, Verifier } from '../load/relay-sign.ts';
import { RelayTreeCache } from '../load/relay-tree.ts';
import { RelayUp } from '../load/relay-up.ts';
import { ec2Listings } from '../membership/binding-ec2-listers.ts';
import { type Ec2ListingSource, MAX_REFUSED } from '../membership/binding-ec2-listing.ts';
import { HeldRefusals } from '../membership/binding-ec2-listing-held.ts';
import { bindingSources, ownIdentity } from '../membership/binding-sources.ts';
import { Membership } from '../membership/membership.ts';
import { swimConfigOf } from '../membership/swim-config.ts';
import type { MetricSampler } from '../metrics/sampler.ts';
import { ed25519Signer } from '../p2p/ed25519-keys.ts';
import { leveled, MEMBERSHIP_LEVELS } from './log-levels.ts';
import type { Wiring } from './wiring.ts';

export interface MembersInput
  extends Pick<Wiring, 'config' | 'peerId' | 'now' | 'log' | 'events' | 'node' | 'telemetry' | 'leadership'> {
  sampler: MetricSampler;
  /** This node's record as it gossips it. */
  record: () => Omit<Heartbeat, 'seq' | 'metrics'>;
  /** A retired agent reports load to no leader. */
  retired: () => boolean;
  /** Leading: the scalers' rule windows, carried in the load summary (PoolScaler.windows). */
  windows?: () => RuleWindow[];
  /** This agent's identity key (its peer id's), to sign its relayed load reports and summaries. */
  privateKey: PrivateKey;
  /** A member event or a member's record arrived: the election steps on it (leadership/step-clock.ts). */
  onViewChange?: () => void;
  /** The follower's promise: what each load report may name (leadership/wait-out.ts). */
  waitOut: WaitOut;
  /** The agent's shared timer (agent/beat.ts). */
  repeat?: Repeat;
}

/** Members whose load the exchange keeps (and relays hold reports of). */
const MAX_MEMBERS = 10_000;

/**
 * Membership (SWIM over the ring, records, sync) and the load exchange that rides its probe
 * streams: built together because each hands frames to the other.
 */
export function buildMembers(i: MembersInput): { membership: Membership; load: LoadExchange } {
  const { config: c, peerId, now, log, events, telemetry: tel, leadership } = i;
  const t = c.tunables;
  const warn = (msg: string, fields: Record<string, unknown>) => log.warn(msg, fields);
  // EC2 clouds without identityCertificate: the leader checks claims against EC2's listing, and
  // its followers take its refusals from its summary (binding-ec2-listing-held.ts).
  const held = new HeldRefusals({ now });
  const listers: Ec2ListingSource[] = [];
  const listing = ec2Listings({
    held,
    made: (source) => listers.push(source),
    config: c,
    node: i.node,
    acting: () => leadership.leads !== null,
    now,
    timing: { ttl: c.tunables.bindingListingTtl },
    log: (msg, fields) => (msg === 'binding-listing-bound' ? log.info(msg, fields) : log.warn(msg, fields)),
  });
  const membership: Membership = new Membership({
    node: i.node,
    pool: c.pool,
    self: peerId,
    swim: swimConfigOf(t),
    now,
    bootstrap: c.bootstrap,
    record: i.record,
    maxMessageBytes: t.maxMessageBytes,
    onFrame: (from, frame) => load.onReport(from, frame),
    onEvent: (e) => {
      if (e.type === 'member-removed') load.forget(e.peerId);
      events.emit(e);
      i.onViewChange?.();
    },
    ...(i.onViewChange ? { onRecord: i.onViewChange } : {}),
    onReject: tel.onReject,
    onBytes: tel.onBytes,
    log: leveled(log, MEMBERSHIP_LEVELS),
    maxConnections: t.maxConnections,
    dialDeferMs: t.dialDefer,
    repeat: i.repeat,
    // Only members the provider vouches for take part (binding.ts).
    binding: bindingSources(c, { peerId }, warn, Date.now, listing),
    identity: ownIdentity(c, warn),
    // Our record carries our signature, so members may relay it in their sync tables (I4).
    ...signer(i.privateKey),
  });
  const load: LoadExchange = new LoadExchange({
    self: () => peerId,
    now,
    loadInterval: t.loadInterval,
    leader: () => (i.retired() ? null : leadership.leader),
    metrics: () => i.sampler.values(),
    send: (to, frame) => membership.send(to, frame),
    ...relayTree(i, membership),
    memberIds: () => [...membership.known()].filter((m) => m.liveness.state !== 'left').map((m) => m.record.peerId),
    maxMembers: MAX_MEMBERS,
    unbound: () => (listers.length === 0 ? [] : refusedBy(listers)),
    claimant: (term) => claimantOf(membership, term),
    waitOut: i.waitOut,
    ...(i.windows ? { windows: i.windows } : {}),
    onVerdicts: (leader, v, interval) => {
      held.release(v.counted);
      const forMs = 2 * Math.max(t.bindingListingTtl, interval);
      for (const peer of held.hold(leader, v.refused, forMs, peerId))
        log.info('binding-leader-refused', { peerId: peer, leader: leader.peerId, term: leader.term, forMs });
    },
  });
  return { membership, load };
}

/** Load reports up and summaries down the tree over the ring overlay (agent/load/relay-*.ts). */
function relayTree(i: MembersInput, membership: Membership): { relay: RelayUp; down: RelayDown } {
  const t = i.config.tunables;
  const tree = new RelayTreeCache(t.rings, i.peerId);
  const live = () => {
    const ids = [i.peerId];
    for (const m of membership.known())
      if (m.liveness.state === 'alive' || m.liveness.state === 'suspect') ids.push(m.record.peerId);
    return ids;
  };
  const signing = { self: i.peerId, now: i.now, sign: signWith(i.privateKey), verifier: new Verifier() };
  const relay = new RelayUp({
    ...signing,
    relayDelay: t.relayDelay,
    maxMembers: MAX_MEMBERS,
    // The lease's window (compose/leadership.ts): a relayed report older than that never counts.
    leaseTimeout: leaseTimeout(t.loadInterval),
    parent: (leader) => tree.get(live(), leader.peerId).parent ?? leader.peerId,
    isMember: (id) => membership.record(id) !== undefined,
    send: (to, frame) => membership.send(to, frame),
    debug: (msg, fields) => i.log.debug(msg, fields),
  });
  const down = new RelayDown({
    ...signing,
    children: (leader) => tree.get(live(), leader.peerId).children,
    send: (to, frame) => membership.send(to, frame),
  });
  return { relay, down };
}

/** Every cloud's refusals, newest first per cloud, without repeats, at most MAX_REFUSED in all. */
function refusedBy(listers: readonly Ec2ListingSource[]): string[] {
  const all = new Set<string>();
  for (const l of listers) for (const id of l.refused()) all.add(id);
  return [...all].slice(0, MAX_REFUSED);
}

/** An alive or suspect member whose record claims `term` (a new leader this node may not follow yet). */
function claimantOf(membership: Membership, term: number): string | undefined {
  for (const m of membership.known())
    if (m.record.leads === term && (m.liveness.state === 'alive' || m.liveness.state === 'suspect'))
      return m.record.peerId;
  return undefined;
}

/** The record signer of `key`, as an option (none for a key that is not Ed25519). */
function signer(key: PrivateKey): { signRecord?: (bytes: Uint8Array) => Uint8Array } {
  const sign = ed25519Signer(key);
  return sign ? { signRecord: sign } : {};
}
