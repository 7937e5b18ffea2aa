/** A metric value as gossiped: a number, or null when its source failed (see the node's /stats). */
export type MetricValue = number | null;
export type MetricMap = Record<string, MetricValue>;

/** A custom metric source, resolved (durations in ms); its schema is in metric-source.ts. */
export type { MetricSourceSpec } from './metric-source.ts';

/** The latest reading of one metric on this node, as shown by /stats. */
export interface MetricReading {
  value: MetricValue;
  /** Epoch ms of the sample. */
  sampledAt: number;
  /** Set when the source failed; value is null then. */
  error?: string;
}

/** Names of the built-in metrics every agent samples. */
export const BUILTIN_METRICS = ['load', 'cpu', 'mem'] as const;
