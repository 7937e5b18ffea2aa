import { describe, expect, it } from 'vitest';
import { defaultSwimConfig, type SwimConfig } from '../agent/membership/swim/config.ts';
import { SwimCore } from '../agent/membership/swim/core.ts';
import { Roster } from '../agent/membership/swim/overlay.ts';
import type { CoreInput, Effect } from '../agent/membership/swim/types.ts';
import { seededRandom } from '../shared/seeded-random.ts';
import { ids } from './helpers/swim.ts';

/**
 * Issue 15: a 2+3 partition heals. During the cut each side declared the other dead at the
 * incarnation it last knew; at the heal the minority's `dead(k)` claims reach the majority (the
 * gossip and tells queued on TCP streams during the cut arrive at once, and anti-entropy hands
 * over the minority's table). A majority member has direct, fresh evidence that its own side is
 * alive (acks and pings every second), so it must never mark one of them suspect or dead, and
 * the pool must converge to all alive. Pure cores on a virtual clock, no sockets.
 */

interface Sent {
  at: number;
  node: string;
  input: CoreInput;
}
interface Seen {
  at: number;
  by: string;
  event: string;
  id: string;
}

const LATENCY = 5;

/** A pool of cores on one virtual clock, cut into `minority` and the rest over [cutAt, healAt). */
function partitioned(opts: {
  n: number;
  minority: number;
  cutAt: number;
  healAt: number;
  seed: number;
  config?: Partial<SwimConfig>;
}) {
  const cfg: SwimConfig = { ...defaultSwimConfig(), ...opts.config };
  const names = ids(opts.n);
  const side = new Map(names.map((id, i) => [id, i < opts.n - opts.minority ? 'major' : 'minor']));
  const roster = new Roster(
    names.map((id) => ({ id, incarnation: 0, state: 'alive' as const })),
    cfg.rings,
    0,
  );
  const cores = new Map(
    names.map((id, i) => [
      id,
      new SwimCore({ self: id, config: cfg, rand: seededRandom(opts.seed * 101 + i), now: 0, roster }),
    ]),
  );
  const rand = seededRandom(opts.seed);
  const queue: Sent[] = [];
  const events: Seen[] = [];
  const cut = (a: string, b: string, at: number) => side.get(a) !== side.get(b) && at >= opts.cutAt && at < opts.healAt;
  const push = (at: number, node: string, input: CoreInput) => queue.push({ at, node, input: { ...input, now: at } });
  /** Streams keep what was written during the cut (TCP retransmits it at the heal); probes and syncs time out. */
  const stream = (from: string, to: string, at: number) =>
    (cut(from, to, at) ? opts.healAt : at) + LATENCY * (1 + rand());

  const effects = (node: string, at: number, fx: Effect[]) => {
    for (const e of fx) {
      if (e.type === 'send') {
        if (!cut(node, e.to, at))
          push(at + LATENCY * (1 + rand()), e.to, { type: 'probe', from: node, msg: e.msg, now: 0 });
      } else if (e.type === 'broadcast') {
        for (const to of names)
          if (to !== node) push(stream(node, to, at), to, { type: 'update', update: e.update, now: 0 });
      } else if (e.type === 'tell') {
        for (const to of e.to) push(stream(node, to, at), to, { type: 'update', update: e.update, now: 0 });
      } else if (e.type === 'sync' && !cut(node, e.with, at)) {
        const theirs = cores.get(e.with)!.digest();
        const mine = cores.get(node)!.digest();
        push(at + LATENCY, node, { type: 'sync', entries: theirs, from: e.with, now: 0 });
        push(at + 2 * LATENCY, e.with, { type: 'sync', entries: mine, from: node, now: 0 });
      } else if (e.type === 'event') events.push({ at, by: node, event: e.event, id: e.id });
    }
  };

  let clock = 0;
  const run = (until: number) => {
    for (let t = clock; t <= until; t += 100) {
      for (const id of names) push(t, id, { type: 'tick', now: 0 });
    }
    while (queue.length > 0) {
      let i = 0;
      for (let j = 1; j < queue.length; j++) if (queue[j]!.at < queue[i]!.at) i = j;
      const [next] = queue.splice(i, 1);
      if (next!.at > until) {
        queue.push(next!);
        break;
      }
      effects(next!.node, next!.at, cores.get(next!.node)!.step(next!.input));
    }
    clock = until + 100;
  };
  const isMajor = (id: string) => side.get(id) === 'major';
  return { names, cores, events, run, isMajor };
}

/**
 * The pools: 2+3 on the default 3 rings, where every majority member is a ring neighbour of the
 * others (ed072fa's direct evidence covers them); and pools where it is not (one ring: each member
 * probes one successor; or 2 rings and a majority of 7), which need the accuser rule: a death whose
 * accuser we hold dead (the other side) is that side's view (peer-view.ts `withholds`).
 */
const CASES = [
  { n: 5, minority: 2, seed: 1, reapAfter: 60_000 },
  { n: 5, minority: 2, seed: 2, reapAfter: 60_000 },
  { n: 5, minority: 2, seed: 3, reapAfter: 10_000 },
  { n: 7, minority: 2, seed: 1, reapAfter: 60_000, rings: 1 },
  { n: 7, minority: 3, seed: 2, reapAfter: 10_000, rings: 1 },
  { n: 9, minority: 2, seed: 3, reapAfter: 60_000, rings: 2 },
];

describe('SWIM core: a healed partition (issue 15)', () => {
  for (const { n, minority, seed, reapAfter, rings } of CASES) {
    const name = `${n - minority}+${minority}, ${rings ?? 3} ring(s), seed ${seed}, reapAfter ${reapAfter} ms`;
    it(`no majority member marks its own side suspect or dead after the heal (${name})`, () => {
      const cutAt = 2_000;
      const healAt = 32_000;
      const config = { reapAfter, ...(rings ? { rings } : {}) };
      const pool = partitioned({ n, minority, cutAt, healAt, seed, config });
      pool.run(healAt - 100);
      // Precondition: each side gave the other up during the cut.
      for (const a of pool.names.filter(pool.isMajor)) {
        for (const b of pool.names.filter((id) => !pool.isMajor(id))) {
          expect(pool.cores.get(a)!.get(b)?.state ?? 'forgotten', `${a} holds ${b}`).not.toMatch(/alive|suspect/);
        }
      }
      pool.run(healAt + 40_000);
      const flaps = pool.events.filter(
        (e) => e.at >= healAt && pool.isMajor(e.by) && pool.isMajor(e.id) && /suspect|dead/.test(e.event),
      );
      expect(flaps.map((e) => `+${Math.round(e.at - healAt)} ms ${e.by} ${e.event} ${e.id}`)).toEqual([]);
      // The pool converged: every member holds every other alive.
      for (const a of pool.names) {
        for (const b of pool.names) expect(pool.cores.get(a)!.get(b)?.state, `${a} holds ${b}`).toBe('alive');
      }
    });
  }
});
