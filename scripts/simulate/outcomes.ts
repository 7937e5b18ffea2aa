import type { Effect } from '../../agent/membership/swim/types.ts';

/**
 * What the simulation measures about membership: who noticed each fault and joiner and when, and
 * the deaths and suspicions of members that never failed.
 */

export class Outcomes {
  private readonly killedAt = new Map<number, number>();
  private readonly hungAt = new Map<number, number>();
  private readonly deadSeen = new Map<number, Float64Array>();
  private readonly joinedAt = new Map<number, number>();
  private readonly joinSeen = new Map<number, Float64Array>();
  private readonly falseDeaths = new Set<string>();
  private falseSuspicions = 0;
  private readonly lateNodes = new Set<number>();
  private lateSuspicions = 0;

  constructor(
    private readonly names: string[],
    private readonly index: Map<string, number>,
  ) {}

  /** `node` was killed (refuses dials) or hung (silent) at `now`. */
  failed(node: number, how: 'kill' | 'hang', now: number): void {
    (how === 'kill' ? this.killedAt : this.hungAt).set(node, now);
    this.deadSeen.set(node, new Float64Array(this.names.length).fill(Number.NaN));
  }

  /** `node`'s loop runs late (its own suspicions are counted apart). */
  late(node: number): void {
    this.lateNodes.add(node);
  }

  joined(node: number, now: number): void {
    this.joinedAt.set(node, now);
    this.joinSeen.set(node, new Float64Array(this.names.length).fill(Number.NaN));
  }

  /** A membership event `node` raised at `now`. */
  record(node: number, e: Effect & { type: 'event' }, now: number): void {
    const about = this.index.get(e.id);
    if (about === undefined) return;
    const expected = this.killedAt.has(about) || this.hungAt.has(about);
    if (e.event === 'member-dead' && !expected) this.falseDeaths.add(`${this.names[node]}→${e.id}`);
    if (e.event === 'member-suspect' && !expected) this.falseSuspicions++;
    if (e.event === 'member-suspect' && !expected && this.lateNodes.has(node)) this.lateSuspicions++;
    const dead = this.deadSeen.get(about);
    if (dead && (e.event === 'member-dead' || e.event === 'member-left') && Number.isNaN(dead[node]!)) dead[node] = now;
    const joined = this.joinSeen.get(about);
    if (joined && (e.event === 'member-joined' || e.event === 'member-recovered') && Number.isNaN(joined[node]!)) {
      joined[node] = now;
    }
  }

  /** The report's outcome fields; `live(j, at)`: node j is live at the end and was started by `at`. */
  report(live: (j: number, at: number) => boolean) {
    const settle = (faults: Map<number, number>, marks: Map<number, Float64Array>) =>
      settleTimes(faults, marks, live, this.names.length);
    return {
      detectionMs: rename(settle(this.killedAt, this.deadSeen), 'undetected'),
      silentDetectionMs: rename(settle(this.hungAt, this.deadSeen), 'undetected'),
      falseDeaths: this.falseDeaths.size,
      falseDeathPairs: [...this.falseDeaths].slice(0, 10),
      falseSuspicionEvents: this.falseSuspicions,
      /** Of them, raised at a late node (simulate/late.ts): mostly its own, a few told by others. */
      lateNodeSuspicionEvents: this.lateSuspicions,
      joinConvergenceMs: rename(settle(this.joinedAt, this.joinSeen), 'unconverged'),
    };
  }
}

/**
 * Detection: from the fault until every node that was live then and still is has marked it dead;
 * join convergence: until every such node has seen the joiner alive. `missing` counts subjects
 * some such node never marked.
 */
function settleTimes(
  faults: Map<number, number>,
  marks: Map<number, Float64Array>,
  live: (j: number, at: number) => boolean,
  total: number,
) {
  const times: number[] = [];
  let missing = 0;
  for (const [subject, at] of faults) {
    let worst = 0;
    let gap = false;
    const seenAt = marks.get(subject)!;
    for (let j = 0; j < total; j++) {
      if (j === subject || !live(j, at)) continue;
      if (Number.isNaN(seenAt[j]!)) gap = true;
      else worst = Math.max(worst, seenAt[j]! - at);
    }
    if (gap) missing++;
    else times.push(worst);
  }
  return { ...stats(times), missing };
}

const stats = (xs: number[]) => ({ median: quantile(xs, 0.5), p95: quantile(xs, 0.95), max: quantile(xs, 1) });
const quantile = (xs: number[], q: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]!);
};

function rename<K extends string>(r: ReturnType<typeof stats> & { missing: number }, key: K) {
  const { missing, ...rest } = r;
  return { ...rest, [key]: missing } as ReturnType<typeof stats> & Record<K, number>;
}
