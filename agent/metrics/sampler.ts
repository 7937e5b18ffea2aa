import { WIRE_LIMITS } from '../../shared/wire/codec.ts';
import {
  BUILTIN_METRICS,
  type MetricMap,
  type MetricReading,
  type MetricSourceSpec,
} from '../../shared/wire/metrics.ts';
import type { Repeat } from '../beat.ts';
import { describeSource, readSource } from './custom.ts';
import { MetricConfigError, MetricNameError } from './errors.ts';
import { roundMetric } from './parse.ts';
import { Poller, type PollResult } from './poller.ts';
import { type CounterSample, counterRate } from './rate.ts';
import { type SystemSample, sampleSystem } from './system.ts';

export interface MetricSamplerOptions {
  /** Interval between samples of the built-ins (load, cpu, mem), ms. */
  sampleInterval: number;
  /**
   * Custom metrics by name, each read on its own `every` with its own `timeout`. A `counter`
   * source publishes its per-second rate, so it stays null until its second read.
   */
  sources: Record<string, MetricSourceSpec>;
  /** Clock for `sampledAt` (epoch ms). Default Date.now. */
  now?: () => number;
  /** Called on each failed read, e.g. to count failures in Prometheus. Must not throw. */
  onError?: (metric: string, error: string) => void;
  /** Samples the built-ins. Default: agent/metrics/system.ts. */
  system?: () => Promise<SystemSample>;
  /** The pollers' timer (agent/beat.ts); default one of their own each. */
  repeat?: Repeat;
}

/**
 * Bound on one sample of the built-ins. Reading kernel counters takes microseconds, but the first
 * call of systeminformation's currentLoad() primes its counters and waits 500 ms by design.
 */
const MIN_SYSTEM_TIMEOUT = 5000;

const BUILTINS: readonly string[] = BUILTIN_METRICS;

/**
 * Keeps the latest reading of every metric this node gossips: the built-ins on `sampleInterval`,
 * each custom source on its own interval. Readings are always available (a failed read is a
 * null value with an error), so heartbeats never wait on a slow source.
 */
export class MetricSampler {
  private readonly now: () => number;
  private readonly onError: (metric: string, error: string) => void;
  private readonly pollers: Array<Pick<Poller<unknown>, 'sample' | 'start' | 'stop'>> = [];
  private readonly latest = new Map<string, MetricReading>();
  private state: 'new' | 'starting' | 'started' | 'stopped' = 'new';

  constructor(opts: MetricSamplerOptions) {
    validate(opts);
    this.now = opts.now ?? Date.now;
    this.onError = opts.onError ?? (() => {});
    const system = opts.system ?? sampleSystem;

    for (const name of BUILTIN_METRICS) this.latest.set(name, { value: null, sampledAt: 0 });
    this.pollers.push(
      new Poller<SystemSample>({
        read: () => system(),
        every: opts.sampleInterval,
        repeat: opts.repeat,
        timeout: Math.max(opts.sampleInterval, MIN_SYSTEM_TIMEOUT),
        onResult: (result) => this.recordSystem(result),
      }),
    );

    for (const [name, spec] of Object.entries(opts.sources)) {
      this.latest.set(name, { value: null, sampledAt: 0 });
      const source = describeSource(spec);
      const publish = spec.counter ? this.rateOf(name) : (result: PollResult<number>) => this.record(name, result);
      this.pollers.push(
        new Poller<number>({
          read: (signal) => readSource(spec, signal),
          every: spec.every,
          repeat: opts.repeat,
          timeout: spec.timeout,
          onResult: (result) =>
            publish(result.ok ? result : { ok: false, error: `metric '${name}' (${source}): ${result.error}` }),
        }),
      );
    }
  }

  /** Takes a first sample of every metric (each bounded by its timeout), then starts the intervals. */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'starting';
    await Promise.all(this.pollers.map((p) => p.sample()));
    if (this.state !== 'starting') return; // stop() was called meanwhile
    for (const p of this.pollers) p.start();
    this.state = 'started';
  }

  /** Clears every timer and kills commands still running. Readings keep their last values. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    await Promise.all(this.pollers.map((p) => p.stop()));
  }

  /** The latest reading of each built-in and custom metric (value null until first sampled). */
  readings(): Record<string, MetricReading> {
    const out: Record<string, MetricReading> = {};
    for (const [name, reading] of this.latest) out[name] = { ...reading };
    return out;
  }

  /** Name → latest value (null when the last read failed): what goes into heartbeats. */
  values(): MetricMap {
    const out: MetricMap = {};
    for (const [name, reading] of this.latest) out[name] = reading.value;
    return out;
  }

  private recordSystem(result: PollResult<SystemSample>): void {
    for (const name of BUILTIN_METRICS) {
      if (!result.ok) {
        this.record(name, { ok: false, error: `metric '${name}' (system): ${result.error}` });
        continue;
      }
      const value = result.value[name];
      this.record(
        name,
        Number.isFinite(value)
          ? { ok: true, value }
          : { ok: false, error: `metric '${name}' (system): not a finite number (${value})` },
      );
    }
  }

  /**
   * Publishes a counter's per-second rate between this node's own reads. A read that yields no
   * rate (the first, or a counter that went down) leaves the last reading as it was; a failed
   * read keeps the baseline, so the next good read averages over the gap.
   */
  private rateOf(name: string): (result: PollResult<number>) => void {
    let last: CounterSample | undefined;
    return (result) => {
      if (!result.ok) {
        this.record(name, result);
        return;
      }
      const at = this.now();
      const step = counterRate(last, { value: result.value, at });
      last = step.last;
      if (step.rate !== null) this.record(name, { ok: true, value: step.rate }, at);
    };
  }

  private record(name: string, result: PollResult<number>, sampledAt = this.now()): void {
    if (result.ok) {
      this.latest.set(name, { value: roundMetric(result.value), sampledAt });
      return;
    }
    this.latest.set(name, { value: null, sampledAt, error: result.error });
    try {
      this.onError(name, result.error);
    } catch {
      // Counting a failure must not stop sampling.
    }
  }
}

function validate(opts: MetricSamplerOptions): void {
  checkInterval('sampleInterval', opts.sampleInterval);
  const names = Object.keys(opts.sources);
  const max = WIRE_LIMITS.maxMetrics - BUILTINS.length;
  if (names.length > max) {
    throw new MetricConfigError(`too many custom metrics: ${names.length} (at most ${max} besides the built-ins)`);
  }
  for (const name of names) {
    if (BUILTINS.includes(name)) {
      throw new MetricNameError(`custom metric '${name}' shadows a built-in metric (${BUILTINS.join(', ')})`);
    }
    if (!WIRE_LIMITS.metricName.test(name)) {
      throw new MetricNameError(
        `custom metric name ${JSON.stringify(name.slice(0, 70))} is invalid: use letters, digits and _, starting with a letter or _ (at most 64)`,
      );
    }
    const spec = opts.sources[name] as MetricSourceSpec;
    checkInterval(`metrics.${name}.every`, spec.every);
    checkInterval(`metrics.${name}.timeout`, spec.timeout);
  }
}

function checkInterval(what: string, ms: number): void {
  // setInterval clamps to 1 ms and setTimeout overflows past 2^31-1: both would silently misbehave.
  if (!Number.isFinite(ms) || ms < 1 || ms > 2 ** 31 - 1) {
    throw new MetricConfigError(`${what} must be a duration between 1ms and ~24 days, got ${ms}`);
  }
}
