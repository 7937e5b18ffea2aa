/**
 * One full garbage collection a minute after the agent started. V8 drops a function's bytecode only
 * at a full GC, once the function has not run for `--bytecode-old-age` of them
 * (shared/agent-node-flags.ts sets 1), and an idle agent makes few full GCs: the memory reducer's two
 * or three about 10 s after start (often still inside the start on a loaded host), then none for
 * minutes in a small pool. Without this one the bytecode of start-up (config, wiring, the join) stays
 * for good: ~2 MB of an idle follower's heap (BENCHMARKS.md, session 19, "bytecode age"). One GC
 * of a ~15 MB heap is tens of ms, once.
 *
 * `gc` is V8's, exposed by `--expose-gc` (AGENT_NODE_FLAGS); without it (tests, a hand-started
 * agent) nothing happens.
 */
export const SETTLE_GC_MS = 60_000;

/** Arms the one GC; the returned function disarms it (the agent's stop). */
export function armSettleGc(
  gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc,
  afterMs = SETTLE_GC_MS,
): () => void {
  if (typeof gc !== 'function') return () => {};
  // unref: a stopping agent never waits for it.
  const timer = setTimeout(() => gc(), afterMs).unref();
  return () => clearTimeout(timer);
}
