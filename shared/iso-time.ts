/**
 * `date.toISOString()` without ICU. V8's own toISOString pages in ICU's time-zone data from the
 * node binary on first use (~0.7 MB of RSS in every agent, which logs a timestamp on every line);
 * this is plain arithmetic on the UTC milliseconds. Same output for years 0–9999.
 */
export function isoTime(date: Date): string {
  const t = date.getTime();
  if (!Number.isFinite(t)) throw new RangeError('Invalid time value');
  const ms = ((t % 86_400_000) + 86_400_000) % 86_400_000;
  // Days since 1970-01-01 to a civil date: Howard Hinnant's days_from_civil, inverted.
  const z = (t - ms) / 86_400_000 + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const p2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  const time = `${p2(Math.floor(ms / 3_600_000))}:${p2(Math.floor(ms / 60_000) % 60)}:${p2(Math.floor(ms / 1000) % 60)}`;
  return `${String(year).padStart(4, '0')}-${p2(month)}-${p2(day)}T${time}.${String(ms % 1000).padStart(3, '0')}Z`;
}
