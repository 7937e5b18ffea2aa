/** Summary statistics of one scenario's samples. Nearest-rank percentiles: always a measured value. */
export interface Summary {
  median: number | null;
  p90: number | null;
  max: number | null;
  samples: number[];
}

export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return sorted[rank - 1] as number;
}

export function summarize(values: readonly number[], digits = 0): Summary {
  const round = (v: number | null) => (v === null ? null : Number(v.toFixed(digits)));
  return {
    median: round(percentile(values, 50)),
    p90: round(percentile(values, 90)),
    max: round(values.length ? Math.max(...values) : null),
    samples: values.map((v) => Number(v.toFixed(digits))),
  };
}

export function ratio(ours: number | null, theirs: number | null): number | null {
  if (ours === null || theirs === null || theirs === 0) return null;
  return Number((ours / theirs).toFixed(2));
}
