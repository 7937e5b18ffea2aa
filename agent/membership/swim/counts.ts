/**
 * What one membership core did so far, counted for benchmarks (test/bench/join-trace.ts sums
 * them over a pool): why its probes failed, how many members it accused, and what those
 * accusations cost in the pool's traffic. Read-only; nothing in the core decides by them.
 */
export interface SwimCounts {
  /** Probes of ours that ended without an ack and counted as evidence. */
  probesFailed: number;
  /** Of those, how many no helper answered with a nack (so we may be the slow one). */
  probesFailedNoNack: number;
  /** Probes that ended as no evidence because our own timers ran late (the target re-probed). */
  probesLate: number;
  /** Failed probes that counted although late: the re-probes allowed in a row were used up. */
  probesLateCounted: number;
  /** Probes that ended as no evidence because no helper asked answered, not even a nack (re-probed). */
  probesUnconfirmed: number;
  /** Suspicions this node started itself (each told to the suspect and its observers). */
  suspected: number;
  /** Of those, on a refused dial rather than silence. */
  suspectedRefused: number;
  /** Suspicion timers of ours that ran out: deaths this node declared (flooded). */
  declaredDead: number;
  /** Suspicions published on the members topic because their suspect could not be told. */
  rerouted: number;
  /** Our own alive published to the pool: the join, and refutations of deaths and rerouted suspicions. */
  floods: number;
  /** The highest local health score this node reached (awareness.ts). */
  awarenessPeak: number;
  /** Our incarnation: each refutation raised it by one. */
  incarnation: number;
  /** Unknown members refused because the table was full (config.ts `maxMembers`). */
  dropped: number;
}

/** Counts summed over many cores (incarnation and awareness peak summed too: divide by the cores). */
export function addCounts(a: SwimCounts, b: SwimCounts): SwimCounts {
  const out = { ...a };
  for (const k of Object.keys(b) as Array<keyof SwimCounts>) out[k] += b[k];
  return out;
}

/** The counters a core's parts keep (probe.ts, suspicion.ts, detours.ts, awareness.ts, peer-view.ts), and its incarnation. */
export function countsOf(
  prober: {
    counts: Pick<
      SwimCounts,
      'probesFailed' | 'probesFailedNoNack' | 'probesLate' | 'probesLateCounted' | 'probesUnconfirmed'
    >;
  },
  suspicions: { counts: Pick<SwimCounts, 'suspected' | 'suspectedRefused' | 'declaredDead'> },
  detours: { counts: Pick<SwimCounts, 'rerouted' | 'floods'> },
  health: { peak: number },
  view: { dropped: number },
  incarnation: number,
): SwimCounts {
  const { dropped } = view;
  return {
    ...prober.counts,
    ...suspicions.counts,
    ...detours.counts,
    awarenessPeak: health.peak,
    incarnation,
    dropped,
  };
}
