import type { ScalingConfig } from './config.ts';
import type { MetricMaps } from './rule-status.ts';

/** A member's metric sample: its value (null: the source failed) and when it was taken (epoch ms). */
export interface MetricSample {
  value: number | null;
  at: number;
}

/** What a step reads of a member. */
export interface SampledMember {
  id: string;
  metrics: Readonly<Record<string, MetricSample>>;
  launchedAt: number;
  ready: boolean;
}

/** The members whose metrics count at one step, and how many were left out and why. */
export interface Counted {
  maps: MetricMaps;
  /** Members still warming up: not ready and younger than `warmup`. */
  warming: string[];
  /** Metric samples dropped for being older than `maxMetricAge`. */
  stale: number;
}

/**
 * Which metric values may drive a decision. A member still warming up (launched, its bundle not
 * applied and verified, younger than `warmup`) counts not at all: a fresh node's idle CPU must not
 * trigger a scale-in. A sample older than `maxMetricAge` is dropped: a member whose reports stopped
 * arriving must not hold the pool at the load it had then.
 */
export function countedMetrics(
  members: readonly SampledMember[],
  now: number,
  config: Pick<ScalingConfig, 'warmup' | 'maxMetricAge'>,
): Counted {
  const maps: Array<Record<string, number | null>> = [];
  const warming: string[] = [];
  let stale = 0;
  for (const m of members) {
    if (config.warmup > 0 && !m.ready && now - m.launchedAt < config.warmup) {
      warming.push(m.id);
      continue;
    }
    // No prototype: a metric named __proto__ or constructor is just a metric.
    const map: Record<string, number | null> = Object.create(null);
    for (const [name, sample] of Object.entries(m.metrics)) {
      if (now - sample.at > config.maxMetricAge) stale++;
      else map[name] = sample.value;
    }
    maps.push(map);
  }
  return { maps, warming, stale };
}
