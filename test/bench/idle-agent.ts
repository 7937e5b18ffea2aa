/**
 * Diagnostic build of the bench agent (test/bench/idle-watch.ts): stall-agent.ts with the flow
 * counter (lib/flow-counter.ts) installed before the agent loads.
 */
import './lib/flow-counter.ts';

await import('./stall-agent.ts');
