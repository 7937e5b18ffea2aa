import type { Trace, TraceSample } from './trace.ts';

/**
 * The trace as the simulated members read it: at any instant, each metric holds its last sample
 * (sample-and-hold, as an agent re-reading a file or endpoint reports the same value until it
 * changes). A trace without members gives every member the same value; one with members maps the
 * simulated members onto them in turn (member k reads trace member k mod N), so the spread of
 * values the rules aggregate stays that of the trace however many instances run.
 */
export class MetricFeed {
  readonly #series = new Map<string, { samples: TraceSample[]; next: number; value: number | null }>();
  readonly #members: string[];
  readonly #metrics: string[];

  constructor(trace: Trace) {
    this.#members = trace.members;
    this.#metrics = trace.metrics;
    for (const s of trace.samples) {
      const key = seriesKey(s.metric, s.member);
      let series = this.#series.get(key);
      if (!series) {
        series = { samples: [], next: 0, value: null };
        this.#series.set(key, series);
      }
      series.samples.push(s);
    }
  }

  /** Moves every series to `now`; times must not go backwards. */
  advance(now: number): void {
    for (const series of this.#series.values()) {
      while (series.next < series.samples.length && (series.samples[series.next] as TraceSample).at <= now) {
        series.value = (series.samples[series.next] as TraceSample).value;
        series.next++;
      }
    }
  }

  /** The metrics member number `index` (0-based, oldest first) reports now; absent before a metric's first sample. */
  metricsOf(index: number): Record<string, number> {
    const member = this.#members.length > 0 ? (this.#members[index % this.#members.length] as string) : null;
    const out: Record<string, number> = Object.create(null);
    for (const metric of this.#metrics) {
      // A member's own series wins over the every-member one.
      const own = member === null ? undefined : this.#series.get(seriesKey(metric, member))?.value;
      const value = own ?? this.#series.get(seriesKey(metric, null))?.value ?? null;
      if (value !== null) out[metric] = value;
    }
    return out;
  }
}

function seriesKey(metric: string, member: string | null): string {
  return `${metric}\u0000${member ?? ''}`;
}
