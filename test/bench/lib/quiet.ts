import { readFile } from 'node:fs/promises';

/** The machine counts as quiet below this busy fraction of all cores over one sample. */
export const QUIET_BUSY = 0.25;
/** One busy sample (ms). */
const SAMPLE_MS = 1000;

/** Jiffies of the aggregate `cpu` line of /proc/stat: busy and total. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/** The aggregate line of /proc/stat; idle and iowait are idle time, everything else busy. */
export function cpuTimes(procStat: string): CpuTimes {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) throw new Error('/proc/stat has no aggregate cpu line');
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 5 || f.some((x) => !Number.isFinite(x))) throw new Error(`/proc/stat cpu line unreadable: '${line}'`);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** Busy fraction of all cores between two readings (0..1; 0 when no time passed). */
export function busyBetween(a: CpuTimes, b: CpuTimes): number {
  const total = b.total - a.total;
  return total <= 0 ? 0 : Math.max(0, Math.min(1, (b.busy - a.busy) / total));
}

/**
 * Waits until the machine is quiet (one sample below QUIET_BUSY) or `maxMs` passes. A scenario
 * that starts while the last one's processes are still exiting, or beside someone else's work,
 * measures the machine, not the agents: Serf's pool of 200 left both cores saturated into the
 * next in-process row (session 20). Returns how long it waited and the last sample's busy fraction,
 * which the row reports as `startBusy`.
 */
export async function quietMachine(maxMs: number): Promise<{ waitedMs: number; busy: number }> {
  const t0 = Date.now();
  let before = cpuTimes(await readFile('/proc/stat', 'utf8'));
  for (;;) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    const after = cpuTimes(await readFile('/proc/stat', 'utf8'));
    const busy = busyBetween(before, after);
    before = after;
    const waitedMs = Date.now() - t0;
    if (busy < QUIET_BUSY || waitedMs >= maxMs) return { waitedMs, busy: Number(busy.toFixed(3)) };
  }
}
