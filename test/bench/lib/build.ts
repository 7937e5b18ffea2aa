import { join } from 'node:path';
import { buildDist } from '../../../scripts/build.mjs';
import { buildArtifact } from '../../../scripts/build-artifact.mjs';

export interface BenchBuild {
  host: string;
  agent: string;
}

/**
 * Builds the bench's children from the current source, never a stale dist/:
 * - the agent child (test/bench/stall-agent.ts, one agent per process) as the single-file artifact
 *   (scripts/build-artifact.mjs), so its RSS and CPU are those of what a cloud instance runs: one
 *   minified file, the providers and the config parser embedded and evaluated only on use;
 * - the in-process host (many agents per process) like `npm run build` (scripts/build.mjs), with
 *   its packages in node_modules.
 */
export async function buildChildren(root: string, outdir: string): Promise<BenchBuild> {
  const [agent] = await Promise.all([
    buildArtifact({ entry: 'test/bench/stall-agent.ts', outdir, name: 'bench-agent' }),
    buildDist({ entries: { 'bench-host': join(root, 'test/bench/host.ts') }, outdir }),
  ]);
  return { host: join(outdir, 'bench-host.mjs'), agent: agent.file };
}
