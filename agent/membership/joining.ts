import { multiaddr } from '@multiformats/multiaddr';
import type { PoolNode } from '../p2p/node.ts';
import type { LostMembers } from './reconnect.ts';

export interface JoiningOptions {
  node: PoolNode;
  self: string;
  /** Multiaddrs (with or without /p2p/) of the seeds. */
  bootstrap: string[];
  now: () => number;
  running: () => boolean;
  /** Our own listen addresses (a seed that is us is skipped). */
  ownAddrs: () => readonly string[];
  /** Members we hold alive, with their addresses. */
  knownAlive: () => Iterable<{ id: string; addrs: readonly string[] }>;
  isAlive: (id: string) => boolean;
  lost: LostMembers;
  /** Pulls the table from a peer (and pushes what we hold about it); false when it failed. */
  sync: (peer: string, hash?: string) => Promise<boolean>;
  /** Publishes our record and liveness (again). */
  announce: () => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
}

/** How often an agent retries the seeds it does not know yet (ms). */
const REJOIN_MS = 2000;
/** At most one dial to a lost member per RECONNECT_MS. */
const RECONNECT_MS = 1000;
/** When a joiner repeats its announcement (ms after its join sync). */
const ANNOUNCE_AFTER = [200, 1000, 3000];

/**
 * Joining and re-joining: pulls the table from every seed not known yet (at start, then every 2 s
 * for 2 minutes, then every 30 s: seeds that came up a moment late left a bootstrap of 3 agents
 * as two pools that never met), and retries lost members one at a time (a healed partition
 * merges when a sync lets each side learn it was declared dead). After a join, our record and
 * liveness are published again a few times: the first announcement went out before any peer was
 * subscribed, and gossipsub does not replay (receivers that have them ignore the copies).
 */
export class Joining {
  readonly #o: JoiningOptions;
  #timers: NodeJS.Timeout[] = [];
  #joining = false;
  #ticks = 0;

  constructor(opts: JoiningOptions) {
    this.#o = opts;
  }

  start(): void {
    void this.#join();
    this.#timers.push(
      setInterval(() => {
        this.#ticks++;
        const due = this.#ticks * REJOIN_MS < 120_000 || this.#ticks % 15 === 0;
        if (this.#o.running() && !this.#joining && due && this.unknownSeeds().length > 0) void this.#join();
      }, REJOIN_MS),
    );
    this.#timers.push(setInterval(() => void this.#reconnect(), RECONNECT_MS));
  }

  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
  }

  /** Seeds that are neither us nor a member we hold alive. */
  unknownSeeds(): string[] {
    const o = this.#o;
    const own = new Set(o.ownAddrs());
    const known = new Set<string>();
    for (const m of o.knownAlive()) {
      known.add(m.id);
      for (const a of m.addrs) known.add(a);
    }
    return o.bootstrap.filter((addr) => {
      const [base = addr, peer] = addr.split('/p2p/');
      return peer !== o.self && !own.has(base) && !known.has(base) && !(peer && known.has(peer));
    });
  }

  async #join(): Promise<void> {
    this.#joining = true;
    try {
      let joined = false;
      for (const addr of this.unknownSeeds()) {
        if (!this.#o.running()) return;
        try {
          // Seeds may name no peer id (EC2 user data knows only an address): take it from the connection.
          const conn = await this.#o.node.dial(multiaddr(addr), { signal: AbortSignal.timeout(3_000) });
          const peer = conn.remotePeer.toString();
          if (peer !== this.#o.self && (await this.#o.sync(peer, ''))) joined = true;
        } catch (err) {
          this.#o.log('join-dial-failed', { addr, error: (err as Error).message });
        }
      }
      if (joined) for (const ms of ANNOUNCE_AFTER) this.#timers.push(setTimeout(() => this.#announce(), ms));
    } finally {
      this.#joining = false;
    }
  }

  #announce(): void {
    if (this.#o.running()) this.#o.announce();
  }

  /**
   * Tries one lost member: a sync with it merges the two views, and each side learns the other
   * declared it dead, so it refutes and its alive is flooded (a healed partition merges).
   */
  async #reconnect(): Promise<void> {
    const o = this.#o;
    if (!o.running()) return;
    const target = o.lost.pick(o.now(), Math.random());
    if (!target || o.isAlive(target.id)) {
      if (target) o.lost.found(target.id);
      return;
    }
    for (const addr of target.addrs) {
      try {
        await o.node.dial(multiaddr(`${addr}/p2p/${target.id}`), { signal: AbortSignal.timeout(2_000) });
        await o.sync(target.id);
        return;
      } catch {
        // Still gone (or still cut off): try again at a later turn.
      }
    }
  }
}
