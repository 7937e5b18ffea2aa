import { readFile, writeFile } from 'node:fs/promises';
import { ConfigError, loadPool, resolveCloud } from '../../shared/config/load.ts';
import { DurationError, parseDuration } from '../../shared/duration.ts';
import { parseRule } from '../../shared/scaling/rule.ts';
import { type Comparison, compareRuns } from '../../shared/scaling/simulate/compare.ts';
import { simulate } from '../../shared/scaling/simulate/engine.ts';
import { parseTrace, type Trace } from '../../shared/scaling/simulate/trace.ts';
import {
  LOAD_MODELS,
  type LoadModel,
  type SimulationResult,
  type SimulationSetup,
} from '../../shared/scaling/simulate/types.ts';
import { type CommandHandler, type OptionValues, optionalString, requireString, UsageError } from '../command.ts';
import { configFile } from '../config-file.ts';
import { chartSvg } from '../simulate/chart.ts';
import { comparisonText, simulationText } from '../simulate/report.ts';

/** What --launch-time and --apply-time default to: a typical VM boot, and a small bundle. */
const DEFAULT_LAUNCH = '90s';
const DEFAULT_APPLY = '30s';

export interface SimulateRun {
  file: string;
  cloud: string;
  result: SimulationResult;
}

export interface SimulateResult extends SimulateRun {
  trace: { file: string; samples: number; metrics: string[]; members: string[]; start: number; end: number };
  model: Omit<SimulationSetup, 'cloud' | 'bounds' | 'config'>;
  against?: SimulateRun & { comparison: Comparison };
  svg?: string;
}

/**
 * `poolparty simulate`: replays a metric trace through the scaling step the agents run, against
 * the cloud's clouds.ts (and, with --against, another definition), and reports the decisions,
 * the count timeline and the totals; --svg draws them. Reads files only: nothing is launched.
 */
export const run: CommandHandler = async ({ values, io }) => {
  const file = configFile(values, 'simulate');
  const traceFile = requireString(values, 'trace', 'simulate');
  const model = modelOptions(values);
  const base = await cloudOf(file, optionalString(values, 'cloud'));
  const trace = await readTrace(traceFile, optionalString(values, 'metric') ?? onlyRuleMetric(base.config));
  for (const metric of ruleMetrics(base.config).filter((m) => !trace.metrics.includes(m))) {
    io.progress(`simulate: ${traceFile} has no '${metric}': the rules reading it never hold`);
  }
  const runOne = (c: Awaited<ReturnType<typeof cloudOf>>) =>
    simulate(trace, { cloud: c.name, bounds: c.bounds, config: c.config, ...model });
  const result = runOne(base);
  const data: SimulateResult = {
    file,
    cloud: base.name,
    trace: {
      file: traceFile,
      samples: trace.samples.length,
      metrics: trace.metrics,
      members: trace.members,
      start: trace.start,
      end: trace.end,
    },
    model,
    result,
  };
  const againstFile = optionalString(values, 'against');
  if (againstFile !== undefined) {
    const other = await cloudOf(againstFile, base.name);
    const otherResult = runOne(other);
    data.against = {
      file: againstFile,
      cloud: other.name,
      result: otherResult,
      comparison: compareRuns(result, otherResult),
    };
  }
  const svgFile = optionalString(values, 'svg');
  if (svgFile !== undefined) {
    await writeFile(svgFile, chartSvg({ trace, traceFile, result, against: data.against?.result }));
    data.svg = svgFile;
    io.progress(`simulate: chart written to ${svgFile}`);
  }
  const text = [simulationText(data.trace.file, result, model)];
  if (data.against) text.push('', comparisonText(file, againstFile as string, data.against.comparison));
  return { data, text: text.join('\n') };
};

function modelOptions(values: OptionValues): SimulateResult['model'] {
  const duration = (name: string, fallback: string) => {
    const raw = optionalString(values, name) ?? fallback;
    try {
      return parseDuration(raw);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      throw new UsageError(`simulate: --${name} '${raw}' is not a duration (e.g. 30s, 2m)`);
    }
  };
  const number = (name: string, check: (n: number) => boolean, what: string): number | null => {
    const raw = optionalString(values, name);
    if (raw === undefined) return null;
    const n = Number(raw);
    if (raw.trim() === '' || !check(n)) throw new UsageError(`simulate: --${name} '${raw}' is not ${what}`);
    return n;
  };
  const load = optionalString(values, 'load') ?? 'replay';
  if (!(LOAD_MODELS as readonly string[]).includes(load)) {
    throw new UsageError(`simulate: --load '${load}' is not a load model (${LOAD_MODELS.join(' or ')})`);
  }
  return {
    load: load as LoadModel,
    launchTimeMs: duration('launch-time', DEFAULT_LAUNCH),
    applyTimeMs: duration('apply-time', DEFAULT_APPLY),
    maxPerStep: number('max-per-step', (n) => Number.isInteger(n) && n >= 1, 'a whole number of at least 1'),
    failureRate: number('failure-rate', (n) => n >= 0 && n <= 1, 'a share between 0 and 1') ?? 0,
    seed: number('seed', (n) => Number.isInteger(n), 'a whole number') ?? 1,
  };
}

async function cloudOf(file: string, name: string | undefined) {
  const pool = await loadPool(file);
  const { name: cloud, cloud: def } = resolveCloud(pool, name);
  return { name: cloud, bounds: def.instances, config: def.scaling };
}

async function readTrace(file: string, metric: string | undefined): Promise<Trace> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `simulate: --trace ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`,
    );
  }
  try {
    return parseTrace(text, file, metric === undefined ? {} : { metric });
  } catch (err) {
    // Bad input, like a bad definition: exit 2, every problem on its own line.
    if ((err as Error).name === 'TraceError') throw new ConfigError((err as Error).message);
    throw err;
  }
}

function ruleMetrics(config: { expandWhen: string | null; contractWhen: string | null }): string[] {
  const texts = [config.expandWhen, config.contractWhen].filter((t): t is string => t !== null);
  return [...new Set(texts.flatMap((t) => parseRule(t).metrics))];
}

/** A Prometheus series without a name stands for the metric the rules read, when they read one. */
function onlyRuleMetric(config: { expandWhen: string | null; contractWhen: string | null }): string | undefined {
  const metrics = ruleMetrics(config);
  return metrics.length === 1 ? metrics[0] : undefined;
}
