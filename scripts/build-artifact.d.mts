/** Types of scripts/build-artifact.mjs for the TypeScript that imports it (the bench). */
/** `minify: false` keeps function names, for CPU profiles only (default true: what ships). */
export function buildArtifact(opts?: { entry?: string; outdir?: string; name?: string; minify?: boolean }): Promise<{
  file: string;
  version: string;
  sha256: string;
  bytes: number;
  embedded: Record<string, { bytes: number; compressed: number }>;
  ms: number;
}>;
/** `bytes` as a double-quoted JavaScript string literal of one Latin-1 character per byte. */
export function latin1Literal(bytes: Uint8Array): string;
