import type { ClusterView, PoolEvent, PoolSample } from '../../shared/wire/cluster.ts';
import { ownTimer, type Repeat } from '../beat.ts';
import type { CloudScalingView } from './pool-metrics.ts';

/**
 * How often the pool is sampled for the dashboard (ms), and how many samples and events are kept:
 * one hour of samples. Fixed limits, not tunables: they bound the agent's memory (~150 kB) and
 * nothing else depends on them.
 */
export const SAMPLE_EVERY = 5_000;
export const KEEP_SAMPLES = 720;
export const KEEP_EVENTS = 200;

/** One sample of the pool from this agent's views: pure, so the page's data is tested without timers. */
export function samplePool(
  at: number,
  cluster: ClusterView,
  scaling: Record<string, CloudScalingView> | undefined,
): PoolSample {
  const clouds: PoolSample['clouds'] = {};
  const row = (cloud: string) => {
    clouds[cloud] ??= { alive: 0, suspect: 0, dead: 0, min: null, max: null, counted: null };
    return clouds[cloud];
  };
  for (const [cloud, v] of Object.entries(scaling ?? {})) {
    const r = row(cloud);
    r.min = v.bounds.min;
    r.max = v.bounds.max;
    r.counted = v.instances;
  }
  for (const m of cluster.members) if (m.state !== 'left') row(m.cloud)[m.state]++;
  const rules: PoolSample['rules'] = [];
  for (const [cloud, v] of Object.entries(scaling ?? {}))
    for (const rule of ['expand', 'contract'] as const) {
      const r = v.rules[rule];
      if (!r) continue;
      for (const t of r.terms)
        rules.push({
          cloud,
          rule,
          term: t.text,
          value: t.value,
          threshold: t.threshold,
          holds: r.holds,
          heldMs: r.sustain.heldForMs,
        });
    }
  return { at, leader: cluster.leader, clouds, rules };
}

/** Bounded history of samples and pool events, newest last. */
export class PoolHistory {
  readonly #samples: PoolSample[] = [];
  readonly #events: PoolEvent[] = [];
  readonly #keepSamples: number;
  readonly #keepEvents: number;

  constructor(keepSamples = KEEP_SAMPLES, keepEvents = KEEP_EVENTS) {
    this.#keepSamples = keepSamples;
    this.#keepEvents = keepEvents;
  }

  addSample(s: PoolSample): void {
    this.#samples.push(s);
    if (this.#samples.length > this.#keepSamples) this.#samples.splice(0, this.#samples.length - this.#keepSamples);
  }

  addEvent(e: PoolEvent): void {
    this.#events.push(e);
    if (this.#events.length > this.#keepEvents) this.#events.splice(0, this.#events.length - this.#keepEvents);
  }

  view(): { everyMs: number; samples: PoolSample[]; events: PoolEvent[] } {
    return { everyMs: SAMPLE_EVERY, samples: [...this.#samples], events: [...this.#events] };
  }
}

export interface HistoryRecorderOptions {
  now: () => number;
  cluster: () => ClusterView;
  scaling: () => Record<string, CloudScalingView> | undefined;
  subscribe: (listener: (e: PoolEvent) => void) => () => void;
  every?: number;
  /** The sampling timer (agent/beat.ts); default its own, unref'd. */
  repeat?: Repeat;
}

/**
 * The component that fills a PoolHistory: a sample every SAMPLE_EVERY, every pool event as it
 * comes; sample listeners (the dashboard's event streams) get each new sample.
 */
export class HistoryRecorder {
  readonly name = 'history';
  readonly history = new PoolHistory();
  readonly #o: HistoryRecorderOptions;
  readonly #listeners = new Set<(s: PoolSample) => void>();
  #cancel: (() => void) | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(o: HistoryRecorderOptions) {
    this.#o = o;
  }

  start(): void {
    this.#unsubscribe = this.#o.subscribe((e) => this.history.addEvent(e));
    this.sample();
    const every = this.#o.every ?? SAMPLE_EVERY;
    this.#cancel = this.#o.repeat
      ? this.#o.repeat(every, () => this.sample())
      : ownTimer(every, () => this.sample(), true);
  }

  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  sample(): void {
    const s = samplePool(this.#o.now(), this.#o.cluster(), this.#o.scaling());
    this.history.addSample(s);
    for (const l of this.#listeners) {
      try {
        l(s);
      } catch {
        // A broken stream must not stop sampling.
      }
    }
  }

  onSample(listener: (s: PoolSample) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
