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
 * newest (it carries the freshest news). More than one slot keeps one slow pull from holding back
 * the follow-ups to members we are already connected to (SYNCS_AT_ONCE).
 *
 * Each request says whether it passes news on (a follow-up, `news`) and the sync is told so: a
 * follow-up skips the table-hash ask on the probe stream and opens `/sync/2` at once. The ask
 * exists for routine syncs of agreeing views (one frame each way instead of a stream); in a join
 * storm the tables almost never agree, and the ask was a round trip through two saturated loops
 * before every pull (in-process N=100, 50 agents per host, loop lag ~1 s: 1,182 syncs, 75 asks
 * answered "same", 450 "differs", 657 unanswered within its 2 s; median 2.3 s of a sync's ~7 s).
 * A follow-up whose views do agree still costs only a stream: the server compares the hash and
 * answers "same" (sync.ts).
 */
export class SyncRunner {
  readonly #running = new Set<string>();
  /** Partners waiting, oldest first, each with whether any request for it passed news on. */
  readonly #queue: { peer: string; news: boolean }[] = [];
  #stopped = false;

  constructor(
    private readonly sync: (peer: string, news: boolean) => Promise<unknown>,
    private readonly limit = SYNCS_AT_ONCE,
    private readonly maxQueued = SYNCS_QUEUED,
  ) {}

  /** A sync with `peer` is due (`news`: a follow-up): start it now, or once a slot frees. */
  request(peer: string, news = false): void {
    if (this.#stopped) return;
    const queued = this.#queue.find((q) => q.peer === peer);
    if (queued) {
      queued.news ||= news;
      return;
    }
    if (this.#running.size < this.limit && !this.#running.has(peer)) {
      this.#start(peer, news);
      return;
    }
    if (this.#queue.length >= this.maxQueued) this.#queue.shift();
    this.#queue.push({ peer, news });
  }

  /** Syncs running and waiting (for tests and the monitor). */
  get pending(): { running: number; queued: number } {
    return { running: this.#running.size, queued: this.#queue.length };
  }

  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
  }

  #start(peer: string, news: boolean): void {
    this.#running.add(peer);
    void this.sync(peer, news)
      .catch(() => undefined)
      .finally(() => {
        this.#running.delete(peer);
        this.#next();
      });
  }

  /** Starts the oldest queued sync whose partner is not being synced with already. */
  #next(): void {
    if (this.#stopped) return;
    const i = this.#queue.findIndex((q) => !this.#running.has(q.peer));
    if (i < 0 || this.#running.size >= this.limit) return;
    const [next] = this.#queue.splice(i, 1);
    if (next !== undefined) this.#start(next.peer, next.news);
  }
}

/**
 * Syncs the core asked for that run at once. A sync in a join storm is mostly waiting: loop turns
 * of two busy hosts (hash ask, stream, table, push-back: ~4-7 s at 50 agents per host), while its
 * CPU is a few ms of decoding and merging. With 2, a follow-up waited longer for a slot than it
 * ran (7-20 s) and views filled at ~0.2 syncs per agent per second, though the core asks for 2.5
 * after news. 4, alternated against 2 on the same machine (in-process, 50 per host, session 23):
 * every view held all N after a median 21.8 s against 24.0 s at N=50 (5 runs each) and 33.6 s
 * against 45.8 s at N=100 (6 and 4 runs). Costs nothing when idle: routine syncs come one per interval.
 */
export const SYNCS_AT_ONCE = 4;
/**
 * Syncs that may wait for a slot: about one news budget at N=100 (followUpSyncs: 14); more would
 * only be stale by the time they ran.
 */
export const SYNCS_QUEUED = 16;
