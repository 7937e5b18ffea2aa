import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveMetricFile } from '../shared/config/resolve.ts';
import type { PoolDefinition } from '../shared/config/schema.ts';
import { type Comparison, parseRule, type RuleExpr } from '../shared/scaling/rule.ts';
import { UsageError } from './command.ts';

/**
 * `demo --drive`: fakes load through a file metric so the leader visibly scales the pool up to
 * max and back down to min. The plan (which file, which values) is pure; `drive` is the shell.
 */

export interface DrivePlan {
  metric: string;
  /** Absolute path of the metric's file. */
  file: string;
  /** Written to grow the pool: satisfies every comparison of the expand rule on `metric`. */
  high: number;
  /** Written to shrink it: satisfies every comparison of the contract rule on `metric`. */
  low: number;
  min: number;
  max: number;
}

/**
 * Picks the first file metric the cloud's expand rule reads and values that make the expand
 * rule, then the contract rule, hold (as far as that metric goes). UsageError if nothing fits.
 */
export function planDrive(pool: PoolDefinition, cloudName: string, stateDir: string): DrivePlan {
  const cloud = pool.clouds[cloudName];
  if (!cloud) throw new UsageError(`demo --drive: pool '${pool.name}' has no cloud '${cloudName}'`);
  const { expandWhen, contractWhen } = cloud.scaling;
  if (!expandWhen) throw new UsageError(`demo --drive: cloud '${cloudName}' has no scaling.expandWhen rule`);
  const expand = parseRule(expandWhen);
  const metric = expand.metrics.find((m) => cloud.metrics[m]?.kind === 'file');
  const spec = metric === undefined ? undefined : cloud.metrics[metric];
  if (metric === undefined || spec?.kind !== 'file') {
    throw new UsageError(
      `demo --drive: the expand rule of cloud '${cloudName}' ('${expandWhen}') reads no file metric to drive`,
    );
  }
  const ups = comparisons(expand.expr).filter((c) => c.metric === metric);
  const downs = contractWhen ? comparisons(parseRule(contractWhen).expr).filter((c) => c.metric === metric) : [];
  return {
    metric,
    file: resolveMetricFile(stateDir, spec.file),
    high: Math.max(...ups.map(highFor)),
    low: downs.length > 0 ? Math.min(...downs.map(lowFor)) : 0,
    min: cloud.instances.min,
    max: cloud.instances.max,
  };
}

function comparisons(expr: RuleExpr): Comparison[] {
  return expr.kind === 'cmp' ? [expr] : [...comparisons(expr.left), ...comparisons(expr.right)];
}

/** Comfortably above a '>' threshold (50 for 'queue > 10'), so one sample clearly crosses it. */
function highFor(c: Comparison): number {
  if (c.op === '>' || c.op === '>=') return c.value > 0 ? c.value * 5 : c.value + 10;
  if (c.op === '==') return c.value;
  return 0;
}

/** Below a '<' threshold: 0 when that is below it (0 for 'queue < 1'), else just under. */
function lowFor(c: Comparison): number {
  if (c.op === '<') return c.value > 0 ? 0 : c.value - 1;
  if (c.op === '<=') return Math.min(0, c.value);
  if (c.op === '==') return c.value;
  return 0;
}

/** Writes the metric file atomically: an agent never reads half a number. */
export async function writeMetric(file: string, value: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${value}\n`);
  await rename(tmp, file);
}

export async function removeMetric(file: string): Promise<void> {
  await rm(file, { force: true });
}

export interface DriveDeps {
  write(value: number): Promise<void>;
  /** Live instances of the cloud (provider) and its members alive in a node's view. */
  count(): Promise<{ live: number; alive: number }>;
  say(text: string): void;
  signal: AbortSignal;
  /** Between two counts (ms). */
  pollMs: number;
  /** Per phase: past this the driver stops waiting and says so (ms). */
  phaseTimeoutMs: number;
}

/** Grows the pool to max, then shrinks it to min; resolves when done, given up, or aborted. */
export async function drive(plan: DrivePlan, deps: DriveDeps): Promise<'done' | 'gave-up' | 'aborted'> {
  const { metric, high, low, min, max } = plan;
  await deps.write(high);
  deps.say(`driving ${metric}=${high} (${plan.file}): expect the pool to grow to ${max}`);
  const grown = await until(deps, (c) => c.live >= max && c.alive >= max);
  if (grown !== 'ok') return finish(deps, grown, `the pool did not reach ${max} instances`, low, plan);
  deps.say(`the pool reached ${max} instances`);

  await deps.write(low);
  deps.say(`driving ${metric}=${low}: expect the pool to shrink back to ${min}`);
  const shrunk = await until(deps, (c) => c.live <= min);
  if (shrunk !== 'ok') return finish(deps, shrunk, `the pool did not shrink to ${min} instances`, low, plan);
  deps.say(`the pool is back at ${min} instances (${metric} stays ${low}); following events, Ctrl-C terminates`);
  return 'done';
}

async function finish(
  deps: DriveDeps,
  why: 'timeout' | 'aborted',
  what: string,
  low: number,
  plan: DrivePlan,
): Promise<'gave-up' | 'aborted'> {
  if (why === 'aborted') return 'aborted';
  await deps.write(low);
  deps.say(`${what} within ${Math.round(deps.phaseTimeoutMs / 1000)}s: stopped driving (${plan.metric}=${low})`);
  return 'gave-up';
}

async function until(
  deps: DriveDeps,
  reached: (c: { live: number; alive: number }) => boolean,
): Promise<'ok' | 'timeout' | 'aborted'> {
  const deadline = Date.now() + deps.phaseTimeoutMs;
  while (!deps.signal.aborted) {
    const c = await deps.count().catch(() => undefined);
    if (c && reached(c)) return 'ok';
    if (Date.now() >= deadline) return 'timeout';
    await sleep(deps.pollMs, undefined, { signal: deps.signal }).catch(() => undefined);
  }
  return 'aborted';
}
