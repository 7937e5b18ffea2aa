import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { encode } from 'cborg';
import type { MemberEvent } from '../../shared/wire/cluster.ts';
import { type Heartbeat, type MemberUpdate, membersTopic, WIRE_VERSION } from '../../shared/wire/heartbeat.ts';
import {
  decodeFrame,
  frameToWire,
  type ProbeFrame,
  probeProtocol,
  speakerOf,
  syncProtocol,
} from '../../shared/wire/probe.ts';
import { GossipChannel } from '../gossip.ts';
import type { PoolNode } from '../p2p/node.ts';
import { FramedChannel, SendError } from '../transport/channel.ts';
import { PeerRateLimit } from '../transport/rate-limit.ts';
import { keepConnections, learnAddrs } from './neighbours.ts';
import { LostMembers } from './reconnect.ts';
import { RecordBook, recordFingerprint } from './records.ts';
import type { SwimConfig } from './swim/config.ts';
import { SwimCore } from './swim/core.ts';
import { viewOf } from './swim/digest.ts';
import type { CoreInput, Effect, MemberLiveness } from './swim/types.ts';
import { requestSync, serveSync, tableHash } from './sync.ts';

export interface MembershipOptions {
  node: PoolNode;
  pool: string;
  self: string;
  swim: SwimConfig;
  now: () => number;
  /** Multiaddrs (with /p2p/) of seeds to pull the table from at start. */
  bootstrap: string[];
  /** This node's record as it stands (seq and metrics are filled in here). */
  record: () => Omit<Heartbeat, 'seq' | 'metrics'>;
  maxMessageBytes: number;
  /** Frames that are not probes (load reports) go here. */
  onFrame: (from: string, frame: ProbeFrame) => void;
  onEvent: (e: MemberEvent) => void;
  onReject: (reason: string, detail: string) => void;
  onBytes: (direction: 'in' | 'out', bytes: number) => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
  /** Peers whose connections are kept beyond the neighbours (the leader). */
  protect: () => string[];
  maxConnections: number;
}

const TICK_MS = 100;
const RECORD_CHECK_MS = 250;
/** When a joiner repeats its announcement (ms after its join sync). */
const ANNOUNCE_AFTER = [200, 1000, 3000];
/** How often an agent that knows no live member retries its seeds (ms). */
const REJOIN_MS = 2000;
/**
 * Retrying lost members: at most one dial per RECONNECT_MS; each member every 2 s for its first
 * 2 minutes lost (a healed partition merges within seconds), then every 30 s, for up to 6 hours.
 */
const RECONNECT_MS = 1000;
const LOST = { max: 1000, keepFor: 6 * 60 * 60 * 1000, fastEvery: 2000, fastFor: 120_000, slowEvery: 30_000 };

/**
 * The membership component: runs the pure SWIM core on the clock and carries its effects —
 * probes on the framed probe protocol, changes and records on the members topic (gossipsub,
 * signed), anti-entropy on the sync protocol, and connections to exactly the ring neighbours.
 */
export class Membership {
  readonly #o: MembershipOptions;
  readonly #core: SwimCore;
  readonly #records: RecordBook;
  readonly #probes: FramedChannel;
  readonly #topic: GossipChannel;
  readonly #heard = new Map<string, number>();
  /** Joined per the core, waiting for the record that says who they are. */
  readonly #pendingJoin = new Set<string>();
  /** Members whose join was announced (so their removal is too). */
  readonly #joined = new Set<string>();
  #neighbours: string[] = [];
  #timers: NodeJS.Timeout[] = [];
  #seq: number;
  #fingerprint = '';
  #running = false;
  #joining = false;
  #rejoinTicks = 0;
  readonly #lost = new LostMembers(LOST);

  constructor(opts: MembershipOptions) {
    this.#o = opts;
    this.#seq = opts.now();
    this.#core = new SwimCore({ self: opts.self, config: opts.swim, rand: Math.random, now: opts.now() });
    this.#records = new RecordBook(opts.swim.maxMembers);
    // Records and liveness updates, published on change and checked before anything sees them.
    this.#topic = new GossipChannel({
      pubsub: opts.node.services.pubsub,
      topic: membersTopic(opts.pool),
      types: new Set(['heartbeat', 'update']),
      maxMessageBytes: opts.maxMessageBytes,
      isFresh: () => true,
      onMessage: (m) =>
        m.type === 'heartbeat' ? this.#onRecord(m) : m.type === 'update' ? this.#onUpdate(m) : 'ignore',
      onReject: opts.onReject,
      onBytes: opts.onBytes,
    });
    this.#probes = new FramedChannel({
      node: opts.node,
      protocol: probeProtocol(opts.pool),
      now: opts.now,
      // Probes are ~1/s per neighbour; load reports to a leader are 1 per member per interval.
      limit: new PeerRateLimit(50, 200),
      dialTimeout: 2_000,
      onFrame: (from, bytes) => this.#frame(from, bytes),
      onReject: (from, reason) => opts.onReject('frame', `${reason} from ${from}`),
    });
  }

  async start(): Promise<void> {
    const o = this.#o;
    this.#running = true;
    this.#topic.start();
    await this.#probes.start();
    await o.node.handle(
      syncProtocol(o.pool),
      (stream) =>
        void serveSync(
          stream,
          () => this.#table(),
          // Only what a peer holds about us counts: a dead entry makes us refute.
          (entries) => {
            const aboutMe = entries.filter((e) => e.id === this.#o.self);
            if (aboutMe.length > 0) this.#step({ type: 'sync', entries: aboutMe, now: this.#o.now() });
          },
        ).catch(() => undefined),
      {
        maxInboundStreams: 8,
      },
    );
    o.node.addEventListener('peer:disconnect', this.#onDisconnect);
    this.#timers.push(setInterval(() => this.#step({ type: 'tick', now: o.now() }), TICK_MS));
    this.#timers.push(setInterval(() => this.refreshRecord(), RECORD_CHECK_MS));
    this.refreshRecord();
    void this.#join();
    // A seed that was not up yet, or a pool we were cut off from: retry while we know nobody.
    this.#timers.push(
      setInterval(() => {
        // A seed that was not up yet when we joined (or that we were cut off from): retry every
        // unknown seed, often at first, then every 30 s. Knowing someone is not enough: seeds
        // that started a moment late formed two pools that never met (a bootstrap of 3 agents).
        this.#rejoinTicks++;
        const due = this.#rejoinTicks * REJOIN_MS < 120_000 || this.#rejoinTicks % 15 === 0;
        if (this.#running && !this.#joining && due && this.#unknownSeeds().length > 0) void this.#join();
      }, REJOIN_MS),
    );
    this.#timers.push(setInterval(() => void this.#reconnect(), RECONNECT_MS));
  }

  /** Seeds that are neither us nor a member we hold alive. */
  #unknownSeeds(): string[] {
    const own = new Set(this.#records.get(this.#o.self)?.addrs ?? []);
    const known = new Set<string>();
    for (const m of this.#core.members()) {
      if (m.id === this.#o.self || m.state !== 'alive') continue;
      known.add(m.id);
      for (const a of this.#records.get(m.id)?.addrs ?? []) known.add(a);
    }
    return this.#o.bootstrap.filter((addr) => {
      const [base = addr, peer] = addr.split('/p2p/');
      return peer !== this.#o.self && !own.has(base) && !known.has(base) && !(peer && known.has(peer));
    });
  }

  async stop(opts: { leave: boolean; grace: number }): Promise<void> {
    if (!this.#running) return;
    if (opts.leave) {
      this.#step({ type: 'leave', now: this.#o.now() });
      await new Promise((r) => setTimeout(r, Math.min(opts.grace, 200)));
    }
    this.#running = false;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
    this.#o.node.removeEventListener('peer:disconnect', this.#onDisconnect);
    this.#topic.stop();
    await this.#probes.stop();
    await this.#o.node.unhandle(syncProtocol(this.#o.pool)).catch(() => undefined);
  }

  /** Publishes our record if anything but metrics changed since the last one. */
  refreshRecord(): void {
    if (!this.#running) return;
    const base = this.#o.record();
    const fp = recordFingerprint(base as Omit<Heartbeat, 'seq'>);
    if (fp === this.#fingerprint) return;
    this.#fingerprint = fp;
    const record: Heartbeat = { ...base, seq: ++this.#seq, metrics: {} };
    this.#records.accept(record);
    void this.#publish(record);
  }

  /** Sends a frame to a peer over the probe protocol (load reports). */
  async send(to: string, frame: ProbeFrame): Promise<void> {
    const bytes = encode(frameToWire(frame));
    this.#o.onBytes('out', bytes.byteLength);
    await this.#probes.send(to, bytes);
  }

  liveness(id: string): MemberLiveness | undefined {
    return this.#core.get(id);
  }

  record(id: string): Heartbeat | undefined {
    return this.#records.get(id);
  }

  /** Other members that have a record, with their liveness. */
  *known(): Generator<{ record: Heartbeat; liveness: MemberLiveness; lastHeard: number }> {
    for (const m of this.#core.members()) {
      if (m.id === this.#o.self) continue;
      const record = this.#records.get(m.id);
      if (record) yield { record, liveness: m, lastHeard: this.#heard.get(m.id) ?? m.since };
    }
  }

  get neighbours(): readonly string[] {
    return this.#neighbours;
  }

  get awareness(): number {
    return this.#core.awareness;
  }

  #step(input: CoreInput): void {
    if (!this.#running) return;
    let effects: Effect[];
    try {
      effects = this.#core.step(input);
    } catch (err) {
      this.#o.log('membership-core-error', { error: (err as Error).message, input: input.type });
      return;
    }
    for (const e of effects) this.#effect(e);
    if (input.type === 'tick') this.#reap();
  }

  #effect(e: Effect): void {
    const o = this.#o;
    switch (e.type) {
      case 'send':
        this.send(e.to, e.msg).catch((err: unknown) => {
          if (err instanceof SendError && err.failure === 'refused')
            this.#step({ type: 'unreachable', id: e.to, evidence: 'refused', now: o.now() });
        });
        return;
      case 'broadcast': {
        const msg: MemberUpdate = {
          v: WIRE_VERSION,
          type: 'update',
          peerId: o.self,
          seq: ++this.#seq,
          update: e.update,
        };
        void this.#publish(msg);
        return;
      }
      case 'tell':
        for (const to of e.to) this.send(to, { t: 'update', update: e.update }).catch(() => undefined);
        return;
      case 'event':
        this.#emit(e.event, e.id, e.at);
        return;
      case 'sync':
        void this.#sync(e.with);
        return;
      case 'neighbours':
        this.#neighbours = e.ids;
        keepConnections(
          this.#o.node,
          new Set([...e.ids, ...this.#o.protect()]),
          (id) => this.#records.get(id) !== undefined,
          this.#o.maxConnections,
        );
        return;
    }
  }

  #emit(type: MemberEvent['type'], id: string, at: number): void {
    const record = this.#records.get(id);
    if (!record) {
      if (type === 'member-joined') this.#pendingJoin.add(id);
      return;
    }
    this.#announce({ type, peerId: id, instanceId: record.instanceId, at });
  }

  #announce(e: MemberEvent): void {
    if (e.type === 'member-dead') this.#lost.lost(e.peerId, this.#records.get(e.peerId)?.addrs ?? [], e.at);
    else if (e.type !== 'member-removed') this.#lost.found(e.peerId);
    if (e.type === 'member-joined') this.#joined.add(e.peerId);
    this.#o.onEvent(e);
  }

  /** A liveness update: a member speaks for its own alive/left; an accuser signs its accusation. */
  #onUpdate(m: MemberUpdate): undefined | { reject: string; detail: string } {
    const u = m.update;
    const signer = speakerOf(u);
    if (signer !== m.peerId) return { reject: 'spoofed', detail: `${u.kind} about ${u.id} signed by ${m.peerId}` };
    if (u.kind === 'alive') this.#heard.set(m.peerId, this.#o.now());
    this.#step({ type: 'update', update: u, now: this.#o.now() });
    return undefined;
  }

  #onRecord(m: Heartbeat): undefined | 'ignore' | { reject: string; detail: string } {
    const o = this.#o;
    const from = m.peerId;
    // One instance, one member: a record claiming an instance another live member holds is refused
    // (a key holder must not get a healthy instance terminated as its own).
    const holder = this.#holderOf(m.instanceId);
    if (holder && holder !== from) return { reject: 'instance-taken', detail: `${m.instanceId} is held by ${holder}` };
    if (!this.#records.accept(m)) {
      if ((this.#records.get(from)?.seq ?? 0) > m.seq) o.onReject('stale', `record seq ${m.seq} from ${from} is older`);
      return 'ignore';
    }
    const now = o.now();
    this.#heard.set(from, now);
    learnAddrs(o.node, o.self, m);
    if (this.#pendingJoin.delete(from))
      this.#announce({ type: 'member-joined', peerId: from, instanceId: m.instanceId, at: now });
    return undefined;
  }

  /** The member (not dead, not left) whose record names `instanceId`, if any. */
  #holderOf(instanceId: string): string | undefined {
    if (instanceId === this.#o.record().instanceId) return this.#o.self;
    for (const r of this.#records.all()) {
      if (r.instanceId !== instanceId || r.peerId === this.#o.self) continue;
      const state = this.#core.get(r.peerId)?.state;
      if (state === 'alive' || state === 'suspect') return r.peerId;
    }
    return undefined;
  }

  async #publish(msg: Heartbeat | MemberUpdate): Promise<void> {
    await this.#topic.publish(msg).catch((err: Error) => this.#o.log('members-publish-failed', { error: err.message }));
  }

  #frame(from: string, bytes: Uint8Array): void {
    this.#o.onBytes('in', bytes.byteLength);
    const f = decodeFrame(bytes);
    if (typeof f === 'string') {
      this.#o.onReject('frame', `${f} from ${from}`);
      return;
    }
    this.#heard.set(from, this.#o.now());
    if (f.t === 'load') this.#o.onFrame(from, f);
    else if (f.t !== 'update') this.#step({ type: 'probe', from, msg: f, now: this.#o.now() });
    // A told suspicion or refutation counts only from its accuser, or from the member itself.
    else if (speakerOf(f.update) === from) this.#step({ type: 'update', update: f.update, now: this.#o.now() });
    else this.#o.onReject('frame', `${f.update.kind} about ${f.update.id} told by ${from}`);
  }

  #table() {
    const entries = this.#core.digest();
    const seqOf = (id: string) => this.#records.get(id)?.seq;
    // Views, not live incarnations: a refutation reaches only the suspect's observers (digest.ts).
    const hash = tableHash(entries.map(viewOf), seqOf);
    return { hash, table: () => ({ entries, records: [...this.#records.all()] }) };
  }

  async #join(): Promise<void> {
    this.#joining = true;
    try {
      await this.#joinOnce();
    } finally {
      this.#joining = false;
    }
  }

  /** Pulls the table from every seed we do not know yet; announces us again if any answered. */
  async #joinOnce(): Promise<void> {
    let joined = false;
    for (const addr of this.#unknownSeeds()) {
      if (!this.#running) return;
      try {
        // Seeds may name no peer id (EC2 user data knows only an address): take it from the connection.
        const conn = await this.#o.node.dial(multiaddr(addr), { signal: AbortSignal.timeout(3_000) });
        const peer = conn.remotePeer.toString();
        if (peer !== this.#o.self && (await this.#sync(peer, ''))) joined = true;
      } catch (err) {
        this.#o.log('join-dial-failed', { addr, error: (err as Error).message });
      }
    }
    if (joined) this.#announceSelf();
  }

  /**
   * Publishes our record and liveness again a few times after joining: the first announcement
   * went out before any peer was subscribed, and gossipsub does not replay. Receivers that
   * already have them ignore the copies.
   */
  #announceSelf(): void {
    const again = () => {
      if (!this.#running) return;
      const record = this.#records.get(this.#o.self);
      if (record) void this.#publish(record);
      const alive = { kind: 'alive' as const, id: this.#o.self, incarnation: this.#core.incarnation };
      void this.#publish({
        v: WIRE_VERSION,
        type: 'update',
        peerId: this.#o.self,
        seq: ++this.#seq,
        update: alive,
      });
    };
    for (const ms of ANNOUNCE_AFTER) {
      const t = setTimeout(again, ms);
      this.#timers.push(t);
    }
  }

  async #sync(peer: string, hash?: string): Promise<boolean> {
    try {
      const stream = await this.#o.node.dialProtocol(peerIdFromString(peer), syncProtocol(this.#o.pool), {
        signal: AbortSignal.timeout(5_000),
      });
      // What we hold about the peer goes with the request: if it is dead to us, it learns it and refutes.
      const held = this.#core.get(peer) ?? this.#core.digest().find((e) => e.id === peer); // tombstones too
      const push =
        held && held.state !== 'alive' ? [{ id: peer, incarnation: held.incarnation, state: held.state }] : [];
      const table = await requestSync(stream, hash ?? this.#table().hash, this.#o.swim.maxMembers, push);
      if (!table) return true;
      const now = this.#o.now();
      for (const r of table.records) {
        if (r.peerId === this.#o.self) continue;
        if (this.#records.accept(r)) learnAddrs(this.#o.node, this.#o.self, r);
      }
      this.#step({ type: 'sync', entries: table.entries, now });
      for (const id of [...this.#pendingJoin]) {
        const r = this.#records.get(id);
        if (!r) continue;
        this.#pendingJoin.delete(id);
        this.#announce({ type: 'member-joined', peerId: id, instanceId: r.instanceId, at: now });
      }
      return true;
    } catch (err) {
      this.#o.log('sync-failed', { peer, error: (err as Error).message });
      return false;
    }
  }

  #onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
    const id = evt.detail.toString();
    this.#probes.forget(id);
    // A neighbour's connection closing is the first sign of a kill -9: probe it now, so a refused
    // redial turns into strong evidence within one round trip, not at its next turn.
    if (this.#running && this.#neighbours.includes(id))
      this.send(id, { t: 'ping', seq: 0 }).catch((err: unknown) => {
        if (err instanceof SendError && err.failure === 'refused')
          this.#step({ type: 'unreachable', id, evidence: 'refused', now: this.#o.now() });
      });
  };

  /**
   * Tries one lost member: a sync with it merges the two views, and each side learns the other
   * declared it dead, so it refutes and its alive is flooded (a healed partition merges).
   */
  async #reconnect(): Promise<void> {
    if (!this.#running) return;
    const target = this.#lost.pick(this.#o.now(), Math.random());
    if (!target || this.#core.get(target.id)?.state === 'alive') {
      if (target) this.#lost.found(target.id);
      return;
    }
    for (const addr of target.addrs) {
      try {
        await this.#o.node.dial(multiaddr(`${addr}/p2p/${target.id}`), { signal: AbortSignal.timeout(2_000) });
        await this.#sync(target.id);
        return;
      } catch {
        // Still gone (or still cut off): try again at a later turn.
      }
    }
  }

  #reap(): void {
    for (const id of this.#records.ids()) {
      if (id === this.#o.self || this.#core.get(id)) continue;
      const r = this.#records.get(id);
      // Records of members the core never heard of (yet) are kept until they are stale.
      if (r && this.#heard.has(id) && this.#o.now() - (this.#heard.get(id) ?? 0) < this.#o.swim.reapAfter) continue;
      this.#records.forget(id);
      this.#heard.delete(id);
      if (r && this.#joined.delete(id))
        this.#o.onEvent({ type: 'member-removed', peerId: id, instanceId: r.instanceId, at: this.#o.now() });
    }
  }
}
