import { loadavg } from 'node:os';

/**
 * What a `poolparty bootstrap` run's progress lines (stderr, `[ 8m19s] text`, cli/progress.ts)
 * say about where its time went: until the last agent was launched (processes spawned; on a
 * loaded machine most of the run) and until the pool was up (every node sees every node).
 */
export interface BootTimes {
  /** Seconds from the CLI's start to its last `launched …` line. */
  lastLaunchedS: number | null;
  /** Seconds to its `pool … is up` line. */
  upS: number | null;
}

/** `0.4s`, `12.3s`, `2m05s`, `1h03m` (cli/progress.ts's elapsed) in seconds; null if not one. */
export function elapsedSeconds(text: string): number | null {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(text.trim());
  if (!m || text.trim() === '') return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

export function bootTimes(stderr: string): BootTimes {
  const times: BootTimes = { lastLaunchedS: null, upS: null };
  for (const line of stderr.split('\n')) {
    const m = /^\[\s*([^\]]+)\]\s+(.*)$/.exec(line);
    const at = m ? elapsedSeconds(m[1] as string) : null;
    if (at === null) continue;
    const text = m?.[2] ?? '';
    if (text.startsWith('launched ')) times.lastLaunchedS = at;
    else if (/^pool \S+ is up:/.test(text)) times.upS = at;
  }
  return times;
}

/** The machine's 1-minute load average sampled every `everyMs` until stopped: first, highest, last. */
export function sampleLoad(everyMs = 5000): { stop(): { start: number; max: number; end: number } } {
  const read = () => Number((loadavg()[0] ?? 0).toFixed(1));
  const start = read();
  let max = start;
  const timer = setInterval(() => {
    max = Math.max(max, read());
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const end = read();
      return { start, max: Math.max(max, end), end };
    },
  };
}
