/**
 * Work that would die with its leader. The leader that took a push or a `--rollback` may die, or
 * step down, before it told any member (nobody staged the artifact, nobody was told of the run):
 * no node holds the work, and nobody would ever continue it. The CLI still holds the signed
 * request, so it hands the same one to whoever leads now. The leader takes it idempotently: the
 * artifact's hash and the rollback's id name the work, and a leader that knows it (drives it,
 * staged for it, was told of it) continues it rather than starting it over
 * (agent/upgrade/leader.ts, agent/upgrade/rollback-resume.ts).
 */

/** How long no node may lead the work, while it is not over, before it is handed again (ms). */
export const ORPHANED_AFTER = 8000;

export interface ResubmitOptions {
  /** Finds the leader and pushes the same signed request again; resolves with the leader's instance id. */
  resubmit: () => Promise<string>;
  progress: (line: string) => void;
  /** Default ORPHANED_AFTER: longer than a leader change with its lease (the work is not lost then). */
  orphanedAfter?: number;
}

/**
 * Watches, poll by poll, whether some node leads the work. When none has for `orphanedAfter`
 * while the work is not over, hands it again (one hand-over at a time, then the wait starts over).
 */
export class Resubmitter {
  readonly #o: ResubmitOptions;
  #orphanSince: number | null = null;
  #pending: Promise<void> | null = null;
  /** Hand-overs made (each after `orphanedAfter` without a leader for the work). */
  count = 0;

  constructor(o: ResubmitOptions) {
    this.#o = o;
  }

  /** One poll: `led`, some node's /upgrade shows it driving the work; `over`, nothing is left to drive. */
  observe(led: boolean, over: boolean, now = Date.now()): void {
    if (led || over) {
      this.#orphanSince = null;
      return;
    }
    this.#orphanSince ??= now;
    const wait = this.#o.orphanedAfter ?? ORPHANED_AFTER;
    if (this.#pending || now - this.#orphanSince < wait) return;
    this.count += 1;
    this.#o.progress(`no node has led it for ${Math.round(wait / 1000)} s: handing the same signed request again`);
    this.#pending = this.#o
      .resubmit()
      .then(
        (leader) => this.#o.progress(`handed again to the leader ${leader}`),
        (err: Error) => this.#o.progress(`handing it again failed: ${err.message} (tried again later)`),
      )
      .finally(() => {
        this.#pending = null;
        this.#orphanSince = null;
      });
  }

  /** Waits for a hand-over under way (so none outlives the command). */
  async settle(): Promise<void> {
    await this.#pending;
  }
}
