import { formatDuration } from '../../shared/duration.ts';
import type { Comparison, DecisionDiff } from '../../shared/scaling/simulate/compare.ts';
import type { SimulationResult, SimulationSetup } from '../../shared/scaling/simulate/types.ts';
import { table } from '../render.ts';

type Model = Pick<SimulationSetup, 'launchTimeMs' | 'applyTimeMs' | 'maxPerStep' | 'failureRate' | 'seed' | 'load'>;

/** The report of one simulation: its setting, every decision with its reason, the timeline and the totals. */
export function simulationText(traceFile: string, r: SimulationResult, model: Model): string {
  const clock = timeFormat(r.start, r.end);
  const s = r.summary;
  const failures = model.failureRate > 0 ? `, ${pct(model.failureRate)} of launches fail (seed ${model.seed})` : '';
  const lines = [
    `simulate ${r.cloud} on ${traceFile}: ${stamp(r.start)} to ${stamp(r.end)} UTC (${formatDuration(s.durationMs)}, ${s.evaluations} evaluations every ${formatDuration(r.intervalMs)})`,
    `instances ${r.bounds.min}..${r.bounds.max}; launch ${formatDuration(model.launchTimeMs)}, apply ${formatDuration(model.applyTimeMs)}, max per step ${model.maxPerStep ?? 'none'}${failures}; load ${model.load ?? 'replay'}`,
    '',
    table(
      ['TIME', 'ACTION', 'COUNT', 'INSTANCES', 'POLICY', 'REASON'],
      r.decisions.map((d) => [
        clock(d.at),
        d.blocked ? `none (${d.blocked})` : d.action,
        d.action === 'none' ? '' : String(d.count),
        String(d.instances),
        d.policy ?? '-',
        d.reason,
      ]),
    ),
    '',
    `instances over time: ${r.timeline.map((p) => `${clock(p.at)} ${p.instances}${p.ready < p.instances ? ` (${p.ready} ready)` : ''}`).join(', ')}`,
    '',
    `${s.expands} expand(s), ${s.contracts} contract(s), ${s.replaces} replace(s); ${s.launched} launched, ${s.terminated} terminated; peak ${s.peak}, lowest ${s.lowest}`,
    `below target: ${formatDuration(s.belowTargetMs)} (${share(s.belowTargetMs, s.durationMs)})   at max: ${formatDuration(s.atMaxMs)} (${share(s.atMaxMs, s.durationMs)})`,
    `instance-hours: ${s.instanceHours}`,
  ];
  return lines.join('\n');
}

/** What --against changed: the actions only one run took, and the totals side by side. */
export function comparisonText(baseFile: string, otherFile: string, c: Comparison): string {
  const row = (name: string, a: string, b: string, delta: string) => [name, a, b, delta];
  const signed = (n: number, text = String(n)) => (n > 0 ? `+${text}` : n < 0 ? `-${text.replace(/^-/, '')}` : '0');
  const lines = [`compared with ${otherFile}: ${c.shared} action(s) the same, ${c.differences.length} different`];
  if (c.differences.length > 0) {
    const clock = timeFormat((c.differences[0] as DecisionDiff).at, (c.differences.at(-1) as DecisionDiff).at);
    lines.push(
      '',
      table(
        ['', 'TIME', 'ACTION', 'COUNT', 'REASON'],
        c.differences.map((d) => [
          d.side === 'base' ? `- ${baseFile}` : `+ ${otherFile}`,
          clock(d.at),
          d.action,
          String(d.count),
          d.reason,
        ]),
      ),
    );
  }
  lines.push(
    '',
    table(
      ['', baseFile, otherFile, 'CHANGE'],
      [
        row(
          'instance-hours',
          String(c.base.instanceHours),
          String(c.other.instanceHours),
          signed(c.delta.instanceHours),
        ),
        row(
          'below target',
          formatDuration(c.base.belowTargetMs),
          formatDuration(c.other.belowTargetMs),
          signed(c.delta.belowTargetMs, formatDuration(Math.abs(c.delta.belowTargetMs))),
        ),
        row(
          'at max',
          formatDuration(c.base.atMaxMs),
          formatDuration(c.other.atMaxMs),
          signed(c.delta.atMaxMs, formatDuration(Math.abs(c.delta.atMaxMs))),
        ),
        row('expands', String(c.base.expands), String(c.other.expands), signed(c.delta.expands)),
        row('contracts', String(c.base.contracts), String(c.other.contracts), signed(c.delta.contracts)),
        row('peak', String(c.base.peak), String(c.other.peak), signed(c.delta.peak)),
      ],
    ),
  );
  return lines.join('\n');
}

/** Times within one day read as 12:04:05; longer traces carry the date. */
export function timeFormat(start: number, end: number): (at: number) => string {
  const sameDay = stamp(start).slice(0, 10) === stamp(end).slice(0, 10);
  return (at) => (sameDay ? stamp(at).slice(11) : stamp(at).slice(5, 16));
}

function stamp(at: number): string {
  return new Date(at).toISOString().slice(0, 19).replace('T', ' ');
}

function share(part: number, whole: number): string {
  return whole > 0 ? pct(part / whole) : '0%';
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}
