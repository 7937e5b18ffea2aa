import type { Trial } from './store.ts';

/**
 * The health gate of a restart, pure: the new agent passes once it confirmed itself ready; it
 * fails when it exits first or when the gate's time runs out. `spawnedAt` counts from the start
 * of the process under trial, so a slow activation does not eat into its time.
 */
export type GateVerdict = { done: false } | { done: true; ok: true } | { done: true; ok: false; reason: string };

export function judgeTrial(
  trial: Trial,
  o: { spawnedAt: number; now: number; exited: { code: number | null; signal: string | null } | null },
): GateVerdict {
  if (trial.confirmedAt !== undefined) return { done: true, ok: true };
  if (o.exited) {
    const how = o.exited.signal ? `signal ${o.exited.signal}` : `code ${o.exited.code}`;
    return { done: true, ok: false, reason: `the new agent exited (${how}) before it was ready` };
  }
  if (o.now >= o.spawnedAt + trial.gateMs)
    return { done: true, ok: false, reason: `the new agent was not ready within ${trial.gateMs} ms` };
  return { done: false };
}
