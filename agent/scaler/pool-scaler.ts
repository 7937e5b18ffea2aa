import type { RuleWindow } from '../../shared/scaling/windows.ts';
import type { Scaler } from './scaler.ts';

type CloudSnapshot = ReturnType<Scaler['snapshot']>;

/** GET /scaling: the agent's own cloud's scaler as before, and every cloud's under `clouds`. */
export type PoolScalingSnapshot = CloudSnapshot & { clouds: Record<string, CloudSnapshot> };

/**
 * One scaler per cloud of the pool (issue 15, item 4): wherever the leader runs, every cloud is
 * healed and scaled by its own bounds, rules and provider. Each cloud's scaler evaluates its own
 * members' metrics on every node (warm sustain timers for a new leader) and acts only while this
 * node leads with its lease; the scalers are independent (one busy cloud does not hold up another).
 */
export class PoolScaler {
  readonly #own: Scaler;
  readonly #all: ReadonlyMap<string, Scaler>;
  readonly #lastStep = new Map<string, number>();

  /** `scalers` by cloud name; `own` names this agent's cloud (it must be among them). */
  constructor(own: string, scalers: ReadonlyMap<string, Scaler>) {
    const mine = scalers.get(own);
    if (!mine) throw new Error(`no scaler for the agent's own cloud '${own}'`);
    this.#own = mine;
    this.#all = scalers;
  }

  /** The clouds scaled, the agent's own first. */
  get clouds(): string[] {
    return [...this.#all.keys()];
  }

  /** The scaler of one cloud. */
  cloud(name: string): Scaler | undefined {
    return this.#all.get(name);
  }

  get busy(): boolean {
    return [...this.#all.values()].some((s) => s.busy);
  }

  /** Instances counted in `term` over every cloud (the pool's size for that term's lease), or null. */
  countedIn(term: number): number | null {
    let sum: number | null = null;
    for (const s of this.#all.values()) {
      const n = s.countedIn(term);
      if (n !== null) sum = (sum ?? 0) + n;
    }
    return sum;
  }

  /** The shortest of the clouds' scaling intervals: how often `step` should be called (ms). */
  get interval(): number {
    return Math.min(...[...this.#all.values()].map((s) => s.interval));
  }

  /**
   * Steps every cloud whose own interval has passed since its last step (all of them without
   * `now`), concurrently. Never throws (each scaler records its errors). Called every `interval`;
   * half a tick of slack keeps a cloud whose interval equals the tick from skipping every other one.
   */
  async step(now?: number): Promise<void> {
    const slack = this.interval / 2;
    const due = [...this.#all].filter(([cloud, s]) => {
      if (now === undefined) return true;
      const last = this.#lastStep.get(cloud);
      if (last !== undefined && now - last < s.interval - slack) return false;
      this.#lastStep.set(cloud, now);
      return true;
    });
    await Promise.all(due.map(([, s]) => s.step()));
  }

  /**
   * Steps every cloud now, whatever its interval: this node has just begun to act in a term (its
   * lease came), and waiting for the next tick would add up to a whole interval to a failover.
   */
  async stepNow(now: number): Promise<void> {
    for (const cloud of this.#all.keys()) this.#lastStep.set(cloud, now);
    await Promise.all([...this.#all.values()].map((s) => s.step()));
  }

  /** Every cloud's rule windows, for this node's summary while it leads (agent/load/exchange.ts). */
  windows(): RuleWindow[] {
    return [...this.#all.values()].flatMap((s) => s.windows());
  }

  snapshot(): PoolScalingSnapshot {
    const clouds: Record<string, CloudSnapshot> = {};
    for (const [name, s] of this.#all) clouds[name] = s.snapshot();
    return { ...this.#own.snapshot(), clouds };
  }
}
