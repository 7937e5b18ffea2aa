import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { parseAgentConfig } from '../agent/config.ts';
import { counterRate } from '../agent/metrics/rate.ts';
import { poolJsonSchema } from '../cli/json-schema.ts';
import { ruleChecks } from '../cli/validate-checks.ts';
import { parsePool } from '../shared/config/load.ts';
import { METRIC_DEFAULTS } from '../shared/config/metric-schema.ts';
import { resolveAgentConfig } from '../shared/config/resolve.ts';
import { localRuntime } from './helpers/agent-runtime.ts';

describe('counterRate', () => {
  it('yields nothing for the first reading, which only becomes the baseline', () => {
    expect(counterRate(undefined, { value: 500, at: 10_000 })).toEqual({
      last: { value: 500, at: 10_000 },
      rate: null,
    });
  });

  it('is the value delta per second of the time delta between the two readings', () => {
    const first = { value: 100, at: 10_000 };
    expect(counterRate(first, { value: 150, at: 12_000 }).rate).toBe(25);
    expect(counterRate(first, { value: 100, at: 15_000 }).rate).toBe(0);
    // Uneven sampling (a slow read, a skipped tick) is divided by the real gap.
    expect(counterRate(first, { value: 103, at: 10_250 }).rate).toBe(12);
  });

  it('chains: each reading is the baseline of the next', () => {
    let last: { value: number; at: number } | undefined;
    const rates: (number | null)[] = [];
    for (const [value, at] of [
      [0, 0],
      [10, 1000],
      [40, 2000],
      [40, 4000],
    ] as const) {
      const step = counterRate(last, { value, at });
      last = step.last;
      rates.push(step.rate);
    }
    expect(rates).toEqual([null, 10, 30, 0]);
  });

  it('yields nothing, never a negative rate, when the counter went down, and measures on from there', () => {
    const reset = counterRate({ value: 9000, at: 10_000 }, { value: 12, at: 11_000 });
    expect(reset).toEqual({ last: { value: 12, at: 11_000 }, rate: null });
    expect(counterRate(reset.last, { value: 32, at: 13_000 }).rate).toBe(10);
  });

  it('yields nothing when the clock did not advance or went back', () => {
    expect(counterRate({ value: 1, at: 5000 }, { value: 2, at: 5000 }).rate).toBeNull();
    const back = counterRate({ value: 1, at: 5000 }, { value: 2, at: 4000 });
    expect(back).toEqual({ last: { value: 2, at: 4000 }, rate: null });
  });
});

/** A one-cloud pool as clouds.ts writes it. */
const written = (cloud: Record<string, unknown>) => ({
  name: 'p',
  clouds: { a: { instances: { min: 1, max: 2 }, using: { provider: 'local' }, ...cloud } },
});
const requests = (metric: unknown) => written({ metrics: { requests: metric } });
const pool = (metric: unknown) => parsePool(requests(metric), 'p.json');

describe("counter in a cloud's metrics", () => {
  it('defaults to false and is accepted on every kind of source', () => {
    expect(METRIC_DEFAULTS.counter).toBe(false);
    // Resolved without the flag, as an agent config for a gauge always was.
    expect(pool({ file: 'requests', counter: false }).clouds.a?.metrics.requests).toEqual(
      pool({ file: 'requests' }).clouds.a?.metrics.requests,
    );
    expect(pool({ file: 'requests' }).clouds.a?.metrics.requests).not.toHaveProperty('counter');
    for (const source of [{ file: 'requests' }, { command: 'echo 1' }, { http: 'http://127.0.0.1:9/x', path: 'n' }]) {
      expect(pool({ ...source, counter: true }).clouds.a?.metrics.requests).toMatchObject({ counter: true });
    }
  });

  it('is described in the JSON Schema editors validate clouds.ts with', () => {
    const validator = z.fromJSONSchema(poolJsonSchema() as Parameters<typeof z.fromJSONSchema>[0]);
    expect(validator.safeParse(requests({ file: 'requests', counter: true })).success).toBe(true);
    expect(validator.safeParse(requests({ command: 'echo 1', counter: false })).success).toBe(true);
    expect(validator.safeParse(requests({ file: 'requests', counter: 'yes' })).success).toBe(false);
  });

  it("is named where poolparty validate lists a rule's metrics", () => {
    const cloud = parsePool(
      written({
        metrics: { requests: { file: 'requests', counter: true }, queue: { file: 'queue' } },
        scaling: { expandWhen: 'sum(requests) > 500 or queue > 10' },
      }),
      'p.json',
    ).clouds.a;
    expect(ruleChecks(cloud as NonNullable<typeof cloud>)[0]?.message).toBe(
      'expandWhen reads requests (defined; counter, per-second rate), queue (defined)',
    );
  });

  it('refuses anything but a boolean with one line naming the field', () => {
    expect(() => pool({ file: 'requests', counter: 'yes' })).toThrowError(
      /^p\.json: clouds\.a\.metrics\.requests\.counter: expected true or false$/,
    );
    expect(() => pool({ file: 'requests', kind: 'counter' })).toThrowError(/^p\.json: .*kind[^\n]*$/);
  });

  it('reaches the agent through the agent config it is written into', () => {
    const config = resolveAgentConfig(pool({ file: 'requests', counter: true }), 'a', localRuntime('/state'));
    const parsed = parseAgentConfig(JSON.parse(JSON.stringify(config)), 'agent.json');
    expect(parsed.metrics.requests).toMatchObject({ kind: 'file', file: '/state/requests', counter: true });

    // An older CLI wrote no flag: the agent reads a plain gauge.
    const { counter: _, ...older } = config.metrics.requests as Record<string, unknown>;
    const old = parseAgentConfig({ ...config, metrics: { requests: older } }, 'agent.json');
    expect(old.metrics.requests?.counter).toBeUndefined();
  });
});
