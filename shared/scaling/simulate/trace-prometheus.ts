import { checkMetric, describe, parseValue, type TraceSample } from './trace-fields.ts';

/** Labels that name the member a Prometheus series came from, most specific first. */
const MEMBER_LABELS = ['member', 'instance_id', 'instance', 'pod', 'host', 'node'];
/** PoolParty's own export of the members' gossiped metrics: the metric is a label. */
const MEMBER_METRIC = 'poolparty_member_metric';

interface Series {
  metric?: Record<string, unknown>;
  values?: unknown;
}

/**
 * The samples of a Prometheus range query answer (`/api/v1/query_range`). Each series is one
 * member (its `member`, `instance_id`, `instance`, `pod`, `host` or `node` label), or every member
 * when it has none of those; its metric is `__name__` (the `metric` label of PoolParty's own
 * poolparty_member_metric), else the `metric` argument. A query's answer is usually one line,
 * so problems name the JSON path rather than a line.
 */
export function parsePrometheus(
  body: string,
  file: string,
  metric: string | undefined,
  problems: string[],
): TraceSample[] {
  const answer = JSON.parse(body) as { status?: unknown; data?: { resultType?: unknown; result?: unknown } };
  if (answer.status !== undefined && answer.status !== 'success') {
    problems.push(`${file}: status: the query failed (${describe(answer.status)})`);
    return [];
  }
  if (answer.data?.resultType !== 'matrix' || !Array.isArray(answer.data.result)) {
    problems.push(`${file}: data: expected resultType 'matrix' with a result array (a range query's answer)`);
    return [];
  }
  const samples: TraceSample[] = [];
  (answer.data.result as Series[]).forEach((series, i) => {
    const where = `${file}: data.result[${i}]`;
    const labels = series?.metric ?? {};
    const name = checkMetric(labels.__name__ === MEMBER_METRIC ? labels.metric : (labels.__name__ ?? metric));
    if (typeof name === 'object') {
      problems.push(
        labels.__name__ === undefined
          ? `${where}: the series has no __name__ label: name the metric it stands for (--metric)`
          : `${where}: ${name.problem}`,
      );
      return;
    }
    const label = MEMBER_LABELS.find((l) => typeof labels[l] === 'string');
    const member = label ? (labels[label] as string) : null;
    if (!Array.isArray(series.values)) {
      problems.push(`${where}: values is not an array of [unix seconds, "value"]`);
      return;
    }
    series.values.forEach((point: unknown, k) => {
      const at = Array.isArray(point) ? point[0] : undefined;
      const raw = Array.isArray(point) ? point[1] : undefined;
      const value = parseValue(raw);
      if (typeof at !== 'number' || !Number.isFinite(at)) {
        problems.push(`${where}.values[${k}]: expected [unix seconds, "value"], got ${describe(point)}`);
      } else if (typeof value === 'string') {
        problems.push(`${where}.values[${k}]: ${value}`);
      } else {
        samples.push({ at: Math.round(at * 1000), metric: name, value, member });
      }
    });
  });
  return samples;
}
