import type { Trace } from '../../shared/scaling/simulate/trace.ts';
import type { SimDecision, SimulationResult, Threshold } from '../../shared/scaling/simulate/types.ts';
import { countTicks, linear, niceTicks, numberLabel, type Scale, timeLabel, timeTicks } from './chart-scale.ts';

export interface ChartInput {
  trace: Trace;
  traceFile: string;
  result: SimulationResult;
  /** The --against run, drawn as a second instance line. */
  against?: SimulationResult | undefined;
}

const W = 1000;
const H = 500;
const LEFT = 70;
const RIGHT = 70;
const TOP = 100;
const BOTTOM = 52;

// A white outline under labels, so a line crossing one does not make it unreadable.
const HALO = 'stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"';

const COLOR = {
  member: '#6b9bd1',
  metric: '#1f4e9c',
  expand: '#c62828',
  contract: '#2e7d32',
  replace: '#6a1b9a',
  target: '#00838f',
  step: '#8d6e63',
  instances: '#e67e00',
  ready: '#f3b866',
  against: '#7b1fa2',
  grid: '#e4e4e4',
  axis: '#555',
  text: '#222',
};

/**
 * The simulation as an SVG chart, built as a string (no browser, no canvas): the plotted metric
 * per trace member (faint) and as the rules aggregate it (bold), the rules' thresholds, the
 * instance count and ready members (step lines on the right axis), decision markers with their
 * reasons as tooltips, a legend and a UTC time axis.
 */
export function chartSvg({ trace, traceFile, result, against }: ChartInput): string {
  const metric = result.thresholds[0]?.metric ?? trace.metrics[0] ?? '';
  const aggregate = result.thresholds[0]?.text;
  const samples = trace.samples.filter((s) => s.metric === metric);
  const values = [...samples.map((s) => s.value), ...result.thresholds.map((t) => t.value)];
  const m = niceTicks(Math.min(0, ...values), Math.max(...values) * 1.05, 6);
  const top = Math.max(result.bounds.max, result.summary.peak, against?.summary.peak ?? 0);
  const c = countTicks(top);
  const x = linear(result.start, Math.max(result.end, result.start + 1), LEFT, W - RIGHT, []);
  const y = linear(m.lo, m.hi, H - BOTTOM, TOP, m.ticks);
  const yc = linear(0, c.hi, H - BOTTOM, TOP, c.ticks);
  const end = result.end;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12" fill="${COLOR.text}">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${LEFT}" y="24" font-size="16" font-weight="bold">${esc(`poolparty simulate: ${result.cloud} on ${traceFile}`)}</text>`,
    `<text x="${LEFT}" y="44" fill="${COLOR.axis}">${esc(subtitle(result))}</text>`,
    ...axes(x, y, yc, result, metric),
  ];
  // Members first (underneath), then what the rules saw, then the thresholds over both.
  for (const series of groupByMember(samples)) {
    parts.push(path(stepPoints(series, end, x, y), COLOR.member, 1, 'stroke-opacity="0.45"'));
  }
  if (aggregate) {
    const points = result.terms.flatMap((p) => {
      const v = p.values[aggregate];
      return v === null || v === undefined ? [] : [{ at: p.at, value: v }];
    });
    parts.push(path(stepPoints(points, end, x, y), COLOR.metric, 2.5));
  }
  for (const t of result.thresholds.filter((t) => t.metric === metric)) {
    const color = THRESHOLD_COLOR[t.rule];
    parts.push(
      `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${f(y(t.value))}" y2="${f(y(t.value))}" stroke="${color}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      `<text x="${W - RIGHT - 6}" y="${f(y(t.value) - 5)}" text-anchor="end" fill="${color}" ${HALO}>${esc(`${t.rule}: ${t.text}`)}</text>`,
    );
  }
  const max = yc(result.bounds.max);
  parts.push(
    `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${f(max)}" y2="${f(max)}" stroke="${COLOR.instances}" stroke-width="1" stroke-dasharray="2 3"/>`,
    `<text x="${W - RIGHT - 6}" y="${f(max - 5)}" text-anchor="end" fill="${COLOR.instances}" ${HALO}>max ${result.bounds.max}</text>`,
  );
  const counts = (r: SimulationResult, key: 'instances' | 'ready') =>
    r.timeline.map((p) => ({ at: p.at, value: p[key] }));
  parts.push(path(stepPoints(counts(result, 'ready'), end, x, yc), COLOR.ready, 2, 'stroke-dasharray="5 3"'));
  if (against)
    parts.push(path(stepPoints(counts(against, 'instances'), end, x, yc), COLOR.against, 2, 'stroke-dasharray="8 4"'));
  parts.push(path(stepPoints(counts(result, 'instances'), end, x, yc), COLOR.instances, 3));
  for (const d of result.decisions) if (d.action !== 'none') parts.push(marker(d, x(d.at), yc(d.instances)));
  const kinds = [...new Set(result.thresholds.filter((t) => t.metric === metric).map((t) => t.rule))];
  parts.push(...legend(metric, aggregate, against !== undefined, kinds), '</svg>');
  return `${parts.join('\n')}\n`;
}

function subtitle(r: SimulationResult): string {
  const s = r.summary;
  return `${s.expands} expand, ${s.contracts} contract, ${s.replaces} replace · peak ${s.peak} instances · ${s.instanceHours} instance-hours · below target ${pct(s.belowTargetMs, s.durationMs)} · at max ${pct(s.atMaxMs, s.durationMs)}`;
}

function axes(x: Scale, y: Scale, yc: Scale, r: SimulationResult, metric: string): string[] {
  const out: string[] = [];
  const multiDay = r.end - r.start > 86_400_000 || new Date(r.start).getUTCDate() !== new Date(r.end).getUTCDate();
  for (const v of y.ticks) {
    out.push(
      `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="${COLOR.grid}"/>`,
      `<text x="${LEFT - 8}" y="${f(y(v) + 4)}" text-anchor="end">${numberLabel(v)}</text>`,
    );
  }
  for (const v of yc.ticks) {
    out.push(
      `<text x="${W - RIGHT + 8}" y="${f(yc(v) + 4)}" fill="${COLOR.instances}">${v}</text>`,
      `<line x1="${W - RIGHT}" x2="${W - RIGHT + 4}" y1="${f(yc(v))}" y2="${f(yc(v))}" stroke="${COLOR.instances}"/>`,
    );
  }
  for (const t of timeTicks(r.start, r.end)) {
    out.push(
      `<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${H - BOTTOM}" y2="${H - BOTTOM + 5}" stroke="${COLOR.axis}"/>`,
      `<text x="${f(x(t))}" y="${H - BOTTOM + 19}" text-anchor="middle">${timeLabel(t, multiDay)}</text>`,
    );
  }
  const midY = (TOP + H - BOTTOM) / 2;
  out.push(
    `<rect x="${LEFT}" y="${TOP}" width="${W - LEFT - RIGHT}" height="${H - TOP - BOTTOM}" fill="none" stroke="${COLOR.axis}"/>`,
    `<text x="18" y="${midY}" text-anchor="middle" transform="rotate(-90 18 ${midY})" fill="${COLOR.metric}">${esc(metric)}</text>`,
    `<text x="${W - 20}" y="${midY}" text-anchor="middle" transform="rotate(90 ${W - 20} ${midY})" fill="${COLOR.instances}">instances</text>`,
    `<text x="${(LEFT + W - RIGHT) / 2}" y="${H - 10}" text-anchor="middle" fill="${COLOR.axis}">time (UTC)</text>`,
  );
  return out;
}

const THRESHOLD_COLOR = { expand: COLOR.expand, contract: COLOR.contract, target: COLOR.target, step: COLOR.step };
const THRESHOLD_LABEL = { expand: 'expand at', contract: 'contract at', target: 'target', step: 'step at' };

function legend(metric: string, aggregate: string | undefined, against: boolean, kinds: Threshold['rule'][]): string[] {
  const items: [string, string][] = [
    [line(COLOR.member, 1.5, 'stroke-opacity="0.6"'), `${metric} per trace member`],
    ...(aggregate
      ? [[line(COLOR.metric, 3), `${aggregate.replace(/\s.*$/, '')} (what the scaler sees)`] as [string, string]]
      : []),
    ...kinds.map((k): [string, string] => [
      line(THRESHOLD_COLOR[k], 1.5, 'stroke-dasharray="6 4"'),
      THRESHOLD_LABEL[k],
    ]),
    [line(COLOR.instances, 3), 'instances'],
    [line(COLOR.ready, 2, 'stroke-dasharray="5 3"'), 'ready'],
    ...(against
      ? [[line(COLOR.against, 2, 'stroke-dasharray="8 4"'), 'instances (--against)'] as [string, string]]
      : []),
    [triangle(8, 0, 'up', COLOR.expand), 'expand'],
    [triangle(8, 0, 'down', COLOR.contract), 'contract'],
  ];
  const out: string[] = [];
  let at = LEFT;
  let row = 64;
  for (const [swatch, label] of items) {
    const width = 34 + label.length * 5.9;
    // A legend wider than the plot wraps onto a second row rather than running off the picture.
    if (at + width > W - RIGHT + 40) {
      at = LEFT;
      row += 18;
    }
    out.push(`<g transform="translate(${at} ${row})">${swatch}<text x="22" y="4">${esc(label)}</text></g>`);
    at += width;
  }
  return out;
}

function line(color: string, width: number, extra = ''): string {
  return `<line x1="0" x2="16" y1="0" y2="0" stroke="${color}" stroke-width="${width}" ${extra}/>`;
}

function marker(d: SimDecision, px: number, py: number): string {
  const tip = `<title>${esc(`${new Date(d.at).toISOString().slice(11, 19)} ${d.action} ${d.count}: ${d.reason}`)}</title>`;
  if (d.action === 'replace') {
    return `<g stroke="${COLOR.replace}" stroke-width="2.5">${tip}<line x1="${f(px - 5)}" y1="${f(py - 5)}" x2="${f(px + 5)}" y2="${f(py + 5)}"/><line x1="${f(px - 5)}" y1="${f(py + 5)}" x2="${f(px + 5)}" y2="${f(py - 5)}"/></g>`;
  }
  const up = d.action === 'expand';
  return `<g>${tip}${triangle(px, up ? py - 9 : py + 9, up ? 'up' : 'down', up ? COLOR.expand : COLOR.contract)}</g>`;
}

function triangle(cx: number, cy: number, dir: 'up' | 'down', color: string): string {
  const s = dir === 'up' ? 1 : -1;
  const pts = [
    [cx, cy - 6 * s],
    [cx - 6, cy + 5 * s],
    [cx + 6, cy + 5 * s],
  ];
  return `<polygon points="${pts.map(([a, b]) => `${f(a as number)},${f(b as number)}`).join(' ')}" fill="${color}" stroke="#fff" stroke-width="1"/>`;
}

/** A held value's step line: flat until the next point, then straight up or down; the last held to `end`. */
function stepPoints(points: { at: number; value: number }[], end: number, x: Scale, y: Scale): string {
  const out: string[] = [];
  points.forEach((p, i) => {
    if (i > 0) out.push(`${f(x(p.at))},${f(y((points[i - 1] as { value: number }).value))}`);
    out.push(`${f(x(p.at))},${f(y(p.value))}`);
  });
  const last = points[points.length - 1];
  if (last && end > last.at) out.push(`${f(x(end))},${f(y(last.value))}`);
  return out.join(' ');
}

function path(points: string, color: string, width: number, extra = ''): string {
  if (points === '') return '';
  return `<polyline points="${points}" fill="none" stroke="${color}" stroke-width="${width}" stroke-linejoin="round" ${extra}/>`;
}

function groupByMember(samples: Trace['samples']): { at: number; value: number }[][] {
  const by = new Map<string, { at: number; value: number }[]>();
  for (const s of samples) {
    const key = s.member ?? '';
    if (!by.has(key)) by.set(key, []);
    by.get(key)?.push({ at: s.at, value: s.value });
  }
  return [...by.values()];
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)}%` : '0%';
}

function f(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
