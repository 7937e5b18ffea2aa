import { defaultSwimConfig, type SwimConfig } from '../../agent/membership/swim/config.ts';
import { SwimCore } from '../../agent/membership/swim/core.ts';
import { Roster } from '../../agent/membership/swim/overlay.ts';
import type { Effect, Update } from '../../agent/membership/swim/types.ts';
import { seededRandom } from '../../shared/seeded-random.ts';

/** Helpers for tests of the pure SWIM core (test/swim-*.test.ts). */

export const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `node-${String(i).padStart(3, '0')}`);

/** A core for `self` whose initial table lists `members` alive at incarnation 0. */
export function coreIn(self: string, members: string[], config: Partial<SwimConfig> = {}): SwimCore {
  const cfg = { ...defaultSwimConfig(), ...config };
  const roster = new Roster(
    members.map((id) => ({ id, incarnation: 0, state: 'alive' as const })),
    cfg.rings,
    0,
  );
  return new SwimCore({ self, config: cfg, rand: seededRandom(7), now: 0, roster });
}

export const sent = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'send' ? [e] : []));
/** Updates broadcast to the pool. */
export const told = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'broadcast' ? [e.update] : []));
/** Targeted updates, with their recipients. */
export const tells = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'tell' ? [e] : []));
export const seen = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'event' ? [`${e.event}:${e.id}`] : []));
export const update = (u: Update, now: number) => ({ type: 'update' as const, update: u, now });

/** Ticks every 100 ms over [from, to). */
export function run(core: SwimCore, from: number, to: number): Effect[] {
  const out: Effect[] = [];
  for (let t = from; t < to; t += 100) out.push(...core.step({ type: 'tick', now: t }));
  return out;
}

/**
 * Ticks every 100 ms over [from, to) while the member probed is silent: each helper asked to probe
 * it (ping-req) answers at once that it cannot reach it either (nack), as live helpers do.
 */
export function silent(core: SwimCore, from: number, to: number): Effect[] {
  const out: Effect[] = [];
  for (let t = from; t < to; t += 100) {
    const fx = core.step({ type: 'tick', now: t });
    out.push(...fx);
    for (const s of sent(fx))
      if (s.msg.t === 'ping-req')
        out.push(...core.step({ type: 'probe', from: s.to, msg: { t: 'nack', seq: s.msg.seq }, now: t }));
  }
  return out;
}

/** Ticks until the core pings someone; returns the target, seq and time. */
export function firstPing(core: SwimCore, from = 0): { to: string; seq: number; at: number } {
  for (let t = from; t < from + 5000; t += 100) {
    for (const e of sent(core.step({ type: 'tick', now: t }))) {
      if (e.msg.t === 'ping') return { to: e.to, seq: e.msg.seq, at: t };
    }
  }
  throw new Error('no ping');
}
