/**
 * How long a join waits on one seed before it dials the next of its round as well (ms). A seed that
 * drops our packets (cut off, or its host gone without a refusal) held a joiner for the whole join
 * dial, 25 s, before it tried the next one (session 18: a replacement joined only at +23.1 s, its
 * first seed cut off). Long enough that a seed answering in a storm — seconds per handshake on
 * loaded cores — is rarely doubled: every extra dial is a handshake some seed starts for nothing.
 */
export const JOIN_STAGGER_MS = 5_000;

/** The first of `items` whose attempt succeeded, with its value; null when every attempt failed. */
export type RaceWinner<T> = { item: string; value: T } | null;

/**
 * Tries `items` in order, staggered: the next one starts when the last one started has not settled
 * within `staggerMs`, or at once when an attempt fails. Resolves with the first success and aborts
 * the attempts still running (a dial waiting in a busy seed's accept queue costs that seed nothing
 * once aborted); an attempt that succeeds after the winner is left to its caller's cleanup (a
 * connection the membership's surplus closes). Sequential when every attempt answers in time, as
 * join rounds were: only a silent seed brings a second dial.
 */
export function firstToAnswer<T>(
  items: readonly string[],
  attempt: (item: string, signal: AbortSignal) => Promise<T>,
  staggerMs: number = JOIN_STAGGER_MS,
): Promise<RaceWinner<T>> {
  return new Promise((resolve) => {
    const running = new Map<string, AbortController>();
    let next = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (winner: RaceWinner<T>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const ctrl of running.values()) ctrl.abort();
      resolve(winner);
    };
    const launch = (): void => {
      clearTimeout(timer);
      if (done) return;
      const item = items[next++];
      if (item === undefined) {
        if (running.size === 0) finish(null);
        return;
      }
      const ctrl = new AbortController();
      running.set(item, ctrl);
      attempt(item, ctrl.signal).then(
        (value) => {
          running.delete(item);
          finish({ item, value });
        },
        () => {
          running.delete(item);
          launch();
        },
      );
      timer = setTimeout(launch, staggerMs);
    };
    launch();
  });
}
