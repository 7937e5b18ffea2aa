/**
 * The instances of a simulated cloud: launched at an instant, joining the pool `launchTimeMs`
 * later, ready (bundle applied, verifiers passed) `applyTimeMs` after joining, or never joining
 * when the launch fails. Pure data and a seeded random source: the same seed gives the same run.
 */
import { seededRandom } from '../../seeded-random.ts';

export interface LaunchModel {
  /** From the provider accepting a launch to the agent joining the pool (ms). */
  launchTimeMs: number;
  /** From joining to having applied the bundle and passed its verifiers (ms). */
  applyTimeMs: number;
  /** Share of launches (0..1) whose instance never joins. */
  failureRate: number;
  seed: number;
}

export interface SimInstance {
  id: string;
  /** When the provider accepted the launch (epoch ms). */
  launchedAt: number;
  /** When its agent joins (epoch ms); never, for a failed launch. */
  joinAt: number;
  readyAt: number;
  failed: boolean;
  /** When it was terminated (epoch ms); null while it runs. */
  endedAt: number | null;
}

export class PoolModel {
  readonly instances: SimInstance[] = [];
  readonly #model: LaunchModel;
  readonly #random: () => number;
  #next = 0;

  constructor(model: LaunchModel) {
    this.#model = model;
    this.#random = seededRandom(model.seed);
  }

  /** Instances that were running before the trace began: joined and ready long ago. */
  seed(count: number, at: number): void {
    for (let i = 0; i < count; i++) {
      this.instances.push({ id: this.#id(), launchedAt: at, joinAt: at, readyAt: at, failed: false, endedAt: null });
    }
  }

  launch(count: number, now: number): SimInstance[] {
    const { launchTimeMs, applyTimeMs, failureRate } = this.#model;
    const launched: SimInstance[] = [];
    for (let i = 0; i < count; i++) {
      const failed = failureRate > 0 && this.#random() < failureRate;
      const joinAt = failed ? Number.POSITIVE_INFINITY : now + launchTimeMs;
      launched.push({ id: this.#id(), launchedAt: now, joinAt, readyAt: joinAt + applyTimeMs, failed, endedAt: null });
    }
    this.instances.push(...launched);
    return launched;
  }

  terminate(ids: readonly string[], now: number): void {
    for (const i of this.instances) if (ids.includes(i.id) && i.endedAt === null) i.endedAt = now;
  }

  /** What the provider lists: every instance not terminated, joined or not (the live count). */
  counted(): SimInstance[] {
    return this.instances.filter((i) => i.endedAt === null);
  }

  /** The pool's alive members: joined and not terminated, oldest first. */
  members(now: number): SimInstance[] {
    return this.counted().filter((i) => i.joinAt <= now);
  }

  /** Launched longer than `joinTimeoutMs` ago and never joined: the scaler replaces these. */
  neverJoined(now: number, joinTimeoutMs: number): SimInstance[] {
    return this.counted().filter((i) => i.joinAt > now && now - i.launchedAt > joinTimeoutMs);
  }

  #id(): string {
    return `sim-${++this.#next}`;
  }
}
