/** Axis arithmetic for the simulate chart: linear scales and tick positions a reader can use. */

export interface Scale {
  (value: number): number;
  ticks: number[];
}

/** Maps [lo, hi] onto [from, to] (pixels; `to` may be above `from` for a y axis). */
export function linear(lo: number, hi: number, from: number, to: number, ticks: number[]): Scale {
  const span = hi - lo || 1;
  const scale = ((v: number) => from + ((v - lo) / span) * (to - from)) as Scale;
  scale.ticks = ticks;
  return scale;
}

/** About `count` round ticks (1, 2 or 5 times a power of ten) covering [lo, hi]; the range grows to the outer ticks. */
export function niceTicks(lo: number, hi: number, count = 5): { lo: number; hi: number; ticks: number[] } {
  if (hi <= lo) hi = lo + 1;
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const first = Math.floor(lo / step) * step;
  const last = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  // Rounded to the step's decimals, so 0.1 + 0.2 prints as 0.3.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  for (let v = first; v <= last + step / 2; v += step) ticks.push(Number(v.toFixed(decimals)));
  return { lo: first, hi: last, ticks };
}

/** Whole-number ticks for a count axis from 0 to at least `max`. */
export function countTicks(max: number): { hi: number; ticks: number[] } {
  const step = max <= 10 ? 1 : max <= 20 ? 2 : Math.ceil(max / 10);
  const hi = Math.ceil((max + 1) / step) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= hi; v += step) ticks.push(v);
  return { hi, ticks };
}

const MINUTE = 60_000;
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * MINUTE);

/** Time ticks on round UTC minutes or hours, at most `count` of them, between start and end. */
export function timeTicks(start: number, end: number, count = 10): number[] {
  const step =
    TIME_STEPS.find((s) => (end - start) / s <= count) ?? Math.ceil((end - start) / count / 86_400_000) * 86_400_000;
  const ticks: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t);
  return ticks;
}

/** A tick's label: 12:30, or 05-07 00:00 where the day changes on a multi-day axis. */
export function timeLabel(at: number, multiDay: boolean): string {
  const iso = new Date(at).toISOString();
  return multiDay && iso.slice(11, 16) === '00:00' ? `${iso.slice(5, 10)} 00:00` : iso.slice(11, 16);
}

/** Numbers on an axis: no more digits than the ticks need. */
export function numberLabel(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}
