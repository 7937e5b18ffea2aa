import { availableParallelism, cpus, loadavg } from 'node:os';
import si from 'systeminformation';

/** The built-in metrics every agent samples. */
export interface SystemSample {
  /** 1-minute load average divided by the number of cores: 1 means every core is busy. */
  load: number;
  /** CPU busy percentage (0–100) since the previous sample. */
  cpu: number;
  /** Used memory percentage (0–100), page cache excluded. */
  mem: number;
}

/**
 * Samples the built-ins. Each call is cheap and never blocks the event loop: loadavg is a
 * syscall, cpu diffs os.cpus() tick counters against the previous call (systeminformation's
 * currentLoad forks a shell per sample and measurably stalled agents on a loaded host), and mem
 * comes from systeminformation's async /proc/meminfo read. Memory uses `active`
 * (total − available) rather than `used`, so reclaimable page cache does not look like pressure.
 */
export async function sampleSystem(): Promise<SystemSample> {
  const mem = await si.mem();
  const cores = Math.max(1, availableParallelism());
  return {
    load: (loadavg()[0] ?? 0) / cores,
    cpu: clampPercent(cpuBusy()),
    mem: mem.total > 0 ? clampPercent((mem.active / mem.total) * 100) : Number.NaN,
  };
}

let previous: { idle: number; total: number } | undefined;

/** CPU busy % across all cores since the previous call (since boot on the first call). */
function cpuBusy(): number {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  const before = previous;
  previous = { idle, total };
  const dTotal = before ? total - before.total : total;
  const dIdle = before ? idle - before.idle : idle;
  return dTotal > 0 ? (1 - dIdle / dTotal) * 100 : 0;
}

function clampPercent(value: number): number {
  return Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : Number.NaN;
}
