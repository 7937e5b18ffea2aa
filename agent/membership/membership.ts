import { encode } from 'cborg';
import type { Heartbeat, MemberUpdate } from '../../shared/wire/heartbeat.ts';
import { frameToWire, type ProbeFrame, syncProtocol } from '../../shared/wire/probe.ts';
import type { GossipChannel } from '../gossip.ts';
import { type FramedChannel, isRefused } from '../transport/channel.ts';
import { BindingCache } from './binding-cache.ts';
import { JOIN_SYNC_MS, Joining } from './joining.ts';
import { AddrLearner } from './learned-addrs.ts';
import { memberChannels, tellEach } from './member-channels.ts';
import { MemberEvents } from './member-events.ts';
import { type InboxContext, receiveAboutUs, receiveSynced } from './member-inbox.ts';
import { MemberRecords } from './member-records.ts';
import { LOST, type MembershipOptions, RECHECK_BINDING_MS, tickAt } from './membership-options.ts';
import { Connections } from './neighbours.ts';
import { LostMembers } from './reconnect.ts';
import { OwnRecord } from './record-push.ts';
import { SwimCore } from './swim/core.ts';
import type { SwimCounts } from './swim/counts.ts';
import type { CoreInput, Effect, MemberLiveness } from './swim/types.ts';
import { handleSync, ownTable, pullTable, SYNC_OPEN_MS, type Table } from './sync.ts';
import { SyncRunner } from './sync-runner.ts';
import { WakeTimer } from './wake-timer.ts';

/**
 * The membership component: runs the pure SWIM core on the clock and carries its effects (probes, signed
 * changes and records on the members topic, anti-entropy, neighbour connections). Only members bound to an
 * instance the provider runs (member-records.ts) are `known`, count as load reporters, or may accuse.
 */
export class Membership {
  readonly #o: MembershipOptions;
  readonly #core: SwimCore;
  readonly #members: MemberRecords;
  readonly #probes: FramedChannel;
  readonly #topic: GossipChannel;
  readonly #digests: ReturnType<typeof memberChannels>['digests'];
  readonly #joining: Joining;
  readonly #events: MemberEvents;
  readonly #inbox: InboxContext;
  readonly #connections: Connections;
  #neighbours: string[] = [];
  readonly #tick = new WakeTimer();
  readonly #record: OwnRecord;
  #running = false;
  readonly #syncs = new SyncRunner((peer, news) => this.#sync(peer, undefined, news));
  readonly #lost = new LostMembers(LOST);

  constructor(opts: MembershipOptions) {
    this.#o = opts;
    const syncable = (id: string) => this.#members.book.get(id) !== undefined; // its record says where it listens
    const partners = { syncable, connected: () => opts.node.getConnections().map((c) => c.remotePeer.toString()) };
    this.#core = new SwimCore({ self: opts.self, config: opts.swim, rand: Math.random, now: opts.now(), ...partners });
    this.#members = new MemberRecords({
      self: opts.self,
      selfInstance: () => opts.record().instanceId,
      maxMembers: opts.swim.maxMembers,
      reapAfter: opts.swim.reapAfter,
      now: opts.now,
      liveness: (id) => this.#core.get(id),
      binding: new BindingCache({
        sourceFor: opts.binding ?? (() => undefined),
        now: opts.now,
        recheckAfter: RECHECK_BINDING_MS,
      }),
    });
    this.#joining = new Joining({
      node: opts.node,
      self: opts.self,
      bootstrap: opts.bootstrap,
      now: opts.now,
      running: () => this.#running,
      ownAddrs: () => this.#members.book.get(opts.self)?.addrs ?? [],
      knownAlive: () =>
        [...this.#core.members()]
          .filter((m) => m.id !== opts.self && m.state === 'alive')
          .map((m) => ({ id: m.id, addrs: this.#members.book.get(m.id)?.addrs ?? [] })),
      isAlive: (id) => this.#core.get(id)?.state === 'alive',
      lost: this.#lost,
      sync: (peer, hash) => this.#sync(peer, hash),
      announce: () => this.#broadcast({ kind: 'alive', id: opts.self, incarnation: this.#core.incarnation }),
      log: opts.log,
      repeat: opts.repeat,
    });
    this.#events = new MemberEvents({
      record: (id) => this.record(id),
      addrs: (id) => this.#members.book.get(id)?.addrs ?? [],
      lost: this.#lost,
      now: opts.now,
      emit: opts.onEvent,
      pull: (id) => this.#syncs.request(id, true),
    });
    this.#connections = new Connections({
      node: opts.node,
      dialable: (id) => this.#members.book.get(id) !== undefined,
      maxConnections: opts.maxConnections,
      dialDeferMs: opts.dialDeferMs,
      now: opts.now,
      repeat: opts.repeat,
    });
    const addrs = new AddrLearner({ node: opts.node, self: opts.self, max: opts.swim.maxMembers, now: opts.now });
    this.#inbox = {
      now: opts.now,
      unknown: (id) => this.#joining.heardFrom(id),
      members: this.#members,
      step: (input) => this.#step(input),
      onLoad: opts.onFrame,
      onReject: opts.onReject,
      onBytes: opts.onBytes,
      kept: (r) => {
        addrs.learn(r);
        this.#events.arrived(r.peerId);
        opts.onRecord?.(r);
      },
    };
    ({ topic: this.#topic, probes: this.#probes, digests: this.#digests } = memberChannels(opts, this.#inbox));
    this.#record = new OwnRecord(opts, this.#members.book, this.#topic, this.#probes);
  }

  async start(): Promise<void> {
    const o = this.#o;
    this.#running = true;
    this.#topic.start();
    await this.#probes.start();
    await handleSync(
      o.node,
      { pool: o.pool, self: o.self, maxMembers: o.swim.maxMembers, own: this.#own, digests: this.#digests },
      (entries, from) => receiveAboutUs(this.#inbox, entries, from),
      (table, from) => this.#merge(table, from),
    );
    o.node.addEventListener('peer:disconnect', this.#onDisconnect);
    this.#scheduleTick();
    this.#o.identity?.start();
    this.refreshRecord();
    this.#joining.start();
    this.#connections.start();
  }

  async stop(opts: { leave: boolean; grace: number }): Promise<void> {
    if (!this.#running) return;
    if (opts.leave) {
      this.#step({ type: 'leave', now: this.#o.now() });
      await new Promise((r) => setTimeout(r, Math.min(opts.grace, 200)));
    }
    this.#running = false;
    this.#syncs.stop();
    this.#joining.stop();
    this.#connections.stop();
    this.#o.identity?.stop();
    this.#tick.clear();
    this.#o.node.removeEventListener('peer:disconnect', this.#onDisconnect);
    this.#topic.stop();
    await this.#probes.stop();
    await this.#o.node.unhandle(syncProtocol(this.#o.pool)).catch(() => undefined);
  }

  /**
   * Publishes our record if anything but metrics changed since the last one. Called by whoever
   * changes a field (a claim, a bundle's state, a retirement) and once a second by the agent's
   * beat for the rest (addresses, identity, a term alone): no timer of its own (compose/components.ts).
   */
  refreshRecord(): void {
    if (this.#running) this.#record.refresh();
  }

  /** Sends our record, refreshed, to `peers` point to point now (a leader's step-down: record-push.ts). */
  pushRecord(peers: Iterable<string>): void {
    if (this.#running) this.#record.push(peers);
  }

  /** Sends a frame to a peer over the probe protocol (load reports). */
  async send(to: string, frame: ProbeFrame): Promise<void> {
    const bytes = encode(frameToWire(frame));
    this.#o.onBytes('out', bytes.byteLength);
    await this.#probes.send(to, bytes);
  }

  /** A member's record, if it takes part (bound to its instance, or its cloud is unchecked). */
  record(id: string): Heartbeat | undefined {
    return this.#members.takesPart(id) ? this.#members.book.get(id) : undefined;
  }

  /** What the membership core did so far (swim/counts.ts: benchmarks read it). */
  get counts(): SwimCounts {
    return this.#core.counts;
  }

  /** Other members that have a record and take part, with their liveness. */
  known(): Generator<{ record: Heartbeat; liveness: MemberLiveness; lastHeard: number }> {
    return this.#members.known(this.#core.members());
  }

  #step(input: CoreInput): void {
    if (!this.#running) return;
    let effects: Effect[];
    try {
      effects = this.#core.step(input);
    } catch (err) {
      this.#o.log('membership-core-error', { error: (err as Error).message, input: input.type });
      this.#scheduleTick();
      return;
    }
    for (const e of effects) this.#effect(e);
    if (input.type === 'tick') this.#tickRecords();
    this.#scheduleTick();
  }

  /** Arms the tick for when the core next wants one (an input may have brought that closer). */
  #scheduleTick(): void {
    if (!this.#running) return;
    const now = this.#o.now();
    const at = tickAt(now, this.#core.wakeAt, this.#o.swim.probeInterval);
    this.#tick.arm(at, now, () => this.#step({ type: 'tick', now: this.#o.now() }));
  }

  #effect(e: Effect): void {
    switch (e.type) {
      case 'send':
        this.#probe(e.to, e.msg);
        return;
      case 'broadcast':
      case 'reroute': // a suspicion its suspect could not be told: only the suspect applies it (member-channels.ts)
        this.#broadcast(e.update);
        return;
      case 'tell': // undelivered: to the core
        tellEach(e, (to, f) => this.send(to, f), this.#inbox.step, this.#o.now, this.#o.log);
        return;
      case 'event':
        this.#events.core(e.event, e.id, e.at);
        return;
      case 'sync': // queued, not dropped, while others run: the core counted it (sync-runner.ts)
        this.#syncs.request(e.with, e.news);
        return;
      case 'neighbours':
        this.#neighbours = e.ids;
        this.#connections.neighbours(e.ids);
        return;
    }
  }

  /**
   * Our own alive (announcement, refutation) goes with our record: a view that gets the alive
   * alone holds no member (member-events.ts) until a pull brings the record.
   */
  #broadcast(update: MemberUpdate['update']): void {
    const own = update.kind === 'alive' && update.id === this.#o.self ? this.#members.book.get(update.id) : undefined;
    if (own) void this.#record.publish(own);
    void this.#record.publishUpdate(update);
  }

  /** `news`: a follow-up; its tables almost surely differ, so no hash ask first (sync-runner.ts). */
  async #sync(peer: string, hash?: string, news = false): Promise<boolean> {
    try {
      const table = await pullTable(this.#o.node, this.#o.pool, peer, {
        hash: hash ?? this.#own().hash,
        maxMembers: this.#o.swim.maxMembers,
        held: this.#core.get(peer) ?? this.#core.digest().find((e) => e.id === peer), // tombstones too
        // A join's pull is the joiner's only way in: give it time. Others give up on a wedged peer.
        ...(hash === '' ? { timeoutMs: JOIN_SYNC_MS } : { exchangeMs: SYNC_OPEN_MS }),
        mine: () => this.#own().table(),
        digests: news ? undefined : this.#digests,
      });
      if (table) this.#merge(table, peer);
      if (table) this.#joining.pulled(table, this.#record.publishedSeq);
      return true;
    } catch (err) {
      this.#o.log('sync-failed', { peer, error: (err as Error).message });
      return false;
    }
  }

  readonly #own = () => ownTable(this.#core.digest(), this.#members.book);

  /** `from`'s table (pulled or pushed back), if `from` takes part: records, then liveness, doubted if it is dead to us. */
  #merge(table: Table, from: string): void {
    receiveSynced(this.#inbox, this.#o.self, table, from);
    this.#events.arrivedAll();
  }

  #onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
    const id = evt.detail.toString();
    this.#probes.forget(id);
    // A closed neighbour connection is the first sign of a kill -9: probe now (a refused redial is evidence).
    if (this.#running && this.#neighbours.includes(id)) this.#probe(id, { t: 'ping', seq: 0 });
  };

  /** Sends; a refused dial (nothing listens there: the process is gone) is evidence at once. */
  #probe(to: string, frame: ProbeFrame): void {
    this.send(to, frame).catch((err: unknown) => {
      if (isRefused(err)) this.#step({ type: 'unreachable', id: to, evidence: 'refused', now: this.#o.now() });
    });
  }

  /** Re-checks bindings that may change, and forgets records the core no longer has. */
  #tickRecords(): void {
    const { joined, dropped } = this.#members.recheck();
    for (const id of joined) this.#events.bound(id);
    this.#events.removed([...dropped, ...this.#members.reap()]);
  }
}
