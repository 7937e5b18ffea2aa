import { checkMetrics, WIRE_LIMITS } from './codec.ts';
import type { MetricMap } from './metrics.ts';

/** One member's metrics in the leader's load summary, and their age when the leader sent it. */
export interface SummaryRow {
  peerId: string;
  /** ms since the member sampled them, on the leader's clock at sending. */
  ageMs: number;
  metrics: MetricMap;
}

/**
 * The leader's load summary, sent point to point to each member that follows it (a part of it:
 * a summary larger than one frame goes as several, each a self-contained set of rows).
 */
export interface SummaryFrame {
  t: 'summary';
  term: number;
  rows: SummaryRow[];
  /**
   * Peer ids whose claim the leader's EC2 listing refused (binding-ec2-listing.ts), for followers
   * to refuse too; absent when none (the usual case costs nothing). At most SUMMARY_LIMITS.unbound.
   */
  unbound?: string[];
  /**
   * The leader's scaling rule windows (issue 13): a new leader starts its sustain timers from the
   * last ones its predecessor sent instead of from zero. Absent from a leader without rules or
   * older than them. At most SUMMARY_LIMITS.windows.
   */
  windows?: RuleWindow[];
}

/** One scaling rule's sustain window at the leader, as of its last evaluation before it sent it. */
export interface RuleWindow {
  cloud: string;
  rule: 'expand' | 'contract';
  /** How long the rule had held (ms); null: it did not hold. */
  heldMs: number | null;
  /** The rule text's fingerprint (shared/scaling/windows.ts): another rule's window is not taken. */
  fp: string;
}

/** Bounds of a summary frame's lists (the codec refuses a frame beyond them). */
export const SUMMARY_LIMITS = { unbound: 256, id: 128, windows: 128 } as const;

/** `#<cloud> <rule> <heldMs or -> <fp>`: never a metric name (those start with a letter or _). */
const WINDOW = /^#([a-z0-9][a-z0-9-]{0,31}) (expand|contract) (-|0|[1-9]\d{0,14}) ([0-9a-f]{8})$/;

function windowText(w: RuleWindow): string {
  return `#${w.cloud} ${w.rule} ${w.heldMs ?? '-'} ${w.fp}`;
}

/** Its index in probe.ts's frame tags. */
export const SUMMARY_TAG = 6;
const MAX_ID = SUMMARY_LIMITS.id;

/**
 * [6, term, names, ...rows], each row [peerId, ageMs, nameIndex, value, nameIndex, value, …]: the
 * metric names once per frame, not once per member (most members gossip the same few). `names` is
 * the frame's string table: the metric names, then — only when there are any — an empty string
 * (never a metric name) and the unbound peer ids. No row refers past the metric names, so an agent
 * that predates the list (it checks only that `names` holds strings) reads the rows and ignores it.
 * The rule windows go between the metric names and that mark, one string each (`#web expand 25000
 * 1a2b3c4d`): an agent before them takes them for metric names no row uses, and ignores them too.
 */
export function summaryToWire(f: SummaryFrame): unknown[] {
  const names: string[] = [];
  const index = new Map<string, number>();
  const rows = f.rows.map((r) => {
    const row: unknown[] = [r.peerId, r.ageMs];
    for (const [name, value] of Object.entries(r.metrics)) {
      let i = index.get(name);
      if (i === undefined) {
        i = names.push(name) - 1;
        index.set(name, i);
      }
      row.push(i, value);
    }
    return row;
  });
  const table = [...names, ...(f.windows ?? []).map(windowText), ...(f.unbound?.length ? ['', ...f.unbound] : [])];
  return [SUMMARY_TAG, f.term, table, ...rows];
}

/**
 * The rule windows among the table's names; a string says what was wrong. A `#` entry this agent
 * cannot read (a later format) is skipped, as an agent before them skips them all.
 */
function readWindows(names: readonly string[]): RuleWindow[] | string {
  const out: RuleWindow[] = [];
  for (const n of names) {
    if (n[0] !== '#') continue;
    if (out.length === SUMMARY_LIMITS.windows) return `more than ${SUMMARY_LIMITS.windows} rule windows in a summary`;
    const m = WINDOW.exec(n);
    if (!m) continue;
    const [, cloud, rule, held, fp] = m as unknown as [string, string, RuleWindow['rule'], string, string];
    out.push({ cloud, rule, heldMs: held === '-' ? null : Number(held), fp });
  }
  return out;
}

/** Splits the string table into metric names, rule windows and the unbound list; a string says what was wrong. */
function splitTable(table: unknown): { names: string[]; windows: RuleWindow[]; unbound?: string[] } | string {
  if (!Array.isArray(table) || table.some((n) => typeof n !== 'string')) return 'bad summary names';
  const mark = table.indexOf('');
  const names = (mark < 0 ? table : table.slice(0, mark)) as string[];
  const windows = readWindows(names);
  if (typeof windows === 'string') return windows;
  if (mark < 0) return { names, windows };
  const unbound = table.slice(mark + 1) as string[];
  if (unbound.length > SUMMARY_LIMITS.unbound) return `more than ${SUMMARY_LIMITS.unbound} unbound peers in a summary`;
  if (unbound.some((id) => id.length === 0 || id.length > MAX_ID)) return 'bad summary unbound peer';
  return { names, windows, ...(unbound.length > 0 ? { unbound } : {}) };
}

/** Decodes [6, term, names, ...rows] (the tag and term already checked); a string says what was wrong. */
export function decodeSummary(term: number, v: unknown[]): SummaryFrame | string {
  const table = splitTable(v[2]);
  if (typeof table === 'string') return table;
  const names = table.names;
  const rows: SummaryRow[] = [];
  for (let i = 3; i < v.length; i++) {
    const row = v[i];
    if (!Array.isArray(row) || row.length < 2 || row.length % 2 !== 0) return 'bad summary row';
    const [peerId, ageMs] = row as [unknown, unknown];
    if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > MAX_ID) return 'bad summary peer';
    if (!Number.isSafeInteger(ageMs) || (ageMs as number) < 0) return 'bad summary age';
    if ((row.length - 2) / 2 > WIRE_LIMITS.maxMetrics) return 'too many metrics in a summary row';
    const pairs: Array<[string, MetricMap[string]]> = [];
    for (let j = 2; j < row.length; j += 2) {
      const name = Number.isInteger(row[j]) ? (names[row[j] as number] as string | undefined) : undefined;
      if (name === undefined) return 'bad summary metric index';
      pairs.push([name, row[j + 1] as MetricMap[string]]);
    }
    // fromEntries defines own properties: a metric named __proto__ cannot reach the prototype.
    const metrics: MetricMap = Object.fromEntries(pairs);
    const bad = checkMetrics(metrics);
    if (bad) return `summary ${bad}`;
    rows.push({ peerId, ageMs: ageMs as number, metrics });
  }
  return {
    t: 'summary',
    term,
    rows,
    ...(table.unbound ? { unbound: table.unbound } : {}),
    ...(table.windows.length > 0 ? { windows: table.windows } : {}),
  };
}
