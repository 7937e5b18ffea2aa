/** Types of scripts/build.mjs for the TypeScript that imports it (the bench). */
export function buildDist(opts?: { entries?: Record<string, string>; outdir?: string }): Promise<{
  outdir: string;
  entries: string[];
  ms: number;
}>;
