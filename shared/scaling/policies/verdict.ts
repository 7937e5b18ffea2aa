/** What one policy asked for at one step: the size it wants (null: no opinion) and why. */
export interface PolicyVerdict {
  /** expandWhen, contractWhen, target, steps, schedule or bounds. */
  policy: string;
  desired: number | null;
  why: string;
}

/** A metric value for a reason: at most 3 decimals, no exponent for the usual ranges. */
export function formatValue(v: number): string {
  return String(Math.round(v * 1000) / 1000);
}
