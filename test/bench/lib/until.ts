import { waitFor } from '../../fixtures/wait.ts';

/**
 * The suite's waitFor for measurements: a scenario records a missing result (null) instead of
 * failing, and a value may be falsy (a count of 0, an epoch ms is never 0 but a delta can be).
 */
export function untilValue<T>(check: () => T | null | Promise<T | null>, timeoutMs: number, everyMs = 100) {
  return waitFor(
    'a benchmark condition',
    async () => {
      const v = await check();
      return v === null ? null : { v };
    },
    { timeoutMs, everyMs },
  ).then(
    (r) => r.v,
    () => null,
  );
}
