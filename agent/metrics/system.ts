import { availableParallelism, loadavg } from 'node:os';
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
 * Samples the built-ins. Each call is cheap: loadavg is a syscall, currentLoad diffs the kernel's
 * CPU counters against the previous call, mem reads /proc/meminfo. Memory uses `active`
 * (total − available) rather than `used`, so reclaimable page cache does not look like pressure.
 */
export async function sampleSystem(): Promise<SystemSample> {
  const [cpu, mem] = await Promise.all([si.currentLoad(), si.mem()]);
  const cores = Math.max(1, availableParallelism());
  return {
    load: (loadavg()[0] ?? 0) / cores,
    cpu: clampPercent(cpu.currentLoad),
    mem: mem.total > 0 ? clampPercent((mem.active / mem.total) * 100) : Number.NaN,
  };
}

function clampPercent(value: number): number {
  return Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : Number.NaN;
}
