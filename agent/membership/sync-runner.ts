/**
 * Carries out the syncs the core asks for (sync-schedule.ts), at most `limit` at a time; one that
 * comes due while that many run waits in a short queue instead of being dropped.
 *
 * The core counts a follow-up sync against its news budget when it asks for it (2⌈log₂(N+1)⌉,
 * 400 ms apart). One sync at a time, dropping the rest, lost most of that budget on real agents:
 * a pull that dials a new connection takes seconds on a loaded machine, and every follow-up that
 * came due meanwhile was spent without a sync (N=20 at load 79: 13 of 17 due syncs dropped per
 * agent), so news spread as a chain again. Queued, each asked-for sync happens; a partner already
 * queued is not queued twice, and when the queue is full the oldest request gives way to the
 * newest (it carries the freshest news). A second slot keeps one slow pull from holding back the
 * follow-ups to members we are already connected to.
 */
export class SyncRunner {
  readonly #running = new Set<string>();
  readonly #queue: string[] = [];
  #stopped = false;

  constructor(
    private readonly sync: (peer: string) => Promise<unknown>,
    private readonly limit = SYNCS_AT_ONCE,
    private readonly maxQueued = SYNCS_QUEUED,
  ) {}

  /** A sync with `peer` is due: start it now, or once a slot frees. */
  request(peer: string): void {
    if (this.#stopped || this.#queue.includes(peer)) return;
    if (this.#running.size < this.limit && !this.#running.has(peer)) {
      this.#start(peer);
      return;
    }
    if (this.#queue.length >= this.maxQueued) this.#queue.shift();
    this.#queue.push(peer);
  }

  /** Syncs running and waiting (for tests and the monitor). */
  get pending(): { running: number; queued: number } {
    return { running: this.#running.size, queued: this.#queue.length };
  }

  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
  }

  #start(peer: string): void {
    this.#running.add(peer);
    void this.sync(peer)
      .catch(() => undefined)
      .finally(() => {
        this.#running.delete(peer);
        this.#next();
      });
  }

  /** Starts the oldest queued sync whose partner is not being synced with already. */
  #next(): void {
    if (this.#stopped) return;
    const i = this.#queue.findIndex((p) => !this.#running.has(p));
    if (i < 0 || this.#running.size >= this.limit) return;
    const [peer] = this.#queue.splice(i, 1);
    if (peer !== undefined) this.#start(peer);
  }
}

/** Syncs the core asked for that run at once. */
export const SYNCS_AT_ONCE = 2;
/**
 * Syncs that may wait for a slot: about one news budget at N=100 (followUpSyncs: 14); more would
 * only be stale by the time they ran.
 */
export const SYNCS_QUEUED = 16;
