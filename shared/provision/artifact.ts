import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentArtifactDir } from '../package-files.ts';
import { ArtifactError } from './errors.ts';

/**
 * The single-file agent (scripts/build-artifact.mjs): dist/artifact/poolparty-agent.mjs plus its
 * manifest. Loaded once and checked against the manifest, so a half-written or stale build is
 * never uploaded.
 */

export interface ArtifactManifest {
  version: string;
  sha256: string;
  bytes: number;
}

export interface Artifact {
  file: string;
  manifest: ArtifactManifest;
  content: Buffer;
}

export const ARTIFACT_FILE = 'poolparty-agent.mjs';
export const MANIFEST_FILE = 'poolparty-agent.json';

/** Oldest Node.js the agent runs on (package.json engines). */
export const MIN_NODE_VERSION = '20.19.0';

export function defaultArtifactDir(): string {
  return agentArtifactDir();
}

export async function loadArtifact(dir: string = defaultArtifactDir()): Promise<Artifact> {
  const file = join(dir, ARTIFACT_FILE);
  const manifestFile = join(dir, MANIFEST_FILE);
  let content: Buffer;
  let manifest: ArtifactManifest;
  try {
    content = await readFile(file);
    manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as ArtifactManifest;
  } catch (err) {
    throw new ArtifactError(
      `agent artifact not found in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ` +
        'run `node scripts/build-artifact.mjs` (part of `npm run build`)',
    );
  }
  const sha256 = createHash('sha256').update(content).digest('hex');
  if (sha256 !== manifest.sha256 || content.length !== manifest.bytes) {
    throw new ArtifactError(
      `${file} does not match ${manifestFile}: rebuild it with \`node scripts/build-artifact.mjs\``,
    );
  }
  return { file, manifest, content };
}

/** True when `version` (e.g. '20.19.2') is at least `min`. */
export function nodeVersionAtLeast(version: string, min: string = MIN_NODE_VERSION): boolean {
  const a = version.replace(/^v/, '').split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (!Number.isFinite(x)) return false;
    if (x !== y) return x > y;
  }
  return true;
}
