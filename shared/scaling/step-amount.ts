/**
 * A step size as clouds.ts writes it: a count of instances, or a percentage of the current count
 * like '10%'. Kept apart from the policy schema so the step policy, which every agent runs, does
 * not load zod (the agent's config parser is transient: test/agent-footprint.test.ts).
 */
export const PERCENT = /^(\d+(?:\.\d+)?)%$/;

/** The percentage of a step size like '10%', or null for a plain count. */
export function stepPercent(amount: number | string): number | null {
  if (typeof amount === 'number') return null;
  return Number(PERCENT.exec(amount)?.[1] ?? Number.NaN);
}
