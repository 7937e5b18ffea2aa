import { readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { VERSION } from '../../shared/version.ts';

/** What this process runs: the file it was started from, and, for an upgraded artifact, its sha256. */
export interface RunningArtifact {
  file: string;
  /** Set when the file is an artifact kept by the upgrade store (`artifacts/<sha256>/…`). */
  sha256: string | null;
  /** The version its signed manifest names, else the version built in. */
  version: string;
}

let cached: RunningArtifact | undefined;

/**
 * Read once: an artifact's version is what the manifest signed for it says (a rebuild differs
 * from the build before it by its manifest even when the version built in is the same).
 */
export function runningArtifact(argv1: string | undefined = process.argv[1]): RunningArtifact {
  if (cached && argv1 === process.argv[1]) return cached;
  const found = readRunning(argv1);
  if (argv1 === process.argv[1]) cached = found;
  return found;
}

/** The version this agent reports in its record, /health and /cluster. */
export function agentVersion(): string {
  return runningArtifact().version;
}

function readRunning(argv1: string | undefined): RunningArtifact {
  if (!argv1) return { file: '', sha256: null, version: VERSION };
  let file = argv1;
  try {
    file = realpathSync(argv1);
  } catch {
    // Started from a path that is gone already: report it as given.
  }
  const sha = basename(dirname(file));
  if (!/^[0-9a-f]{64}$/.test(sha) || basename(dirname(dirname(file))) !== 'artifacts')
    return { file, sha256: null, version: VERSION };
  try {
    const signed = JSON.parse(readFileSync(join(dirname(file), 'manifest.json'), 'utf8')) as {
      manifest?: { version?: unknown };
    };
    const version = signed.manifest?.version;
    return { file, sha256: sha, version: typeof version === 'string' ? version : VERSION };
  } catch {
    return { file, sha256: sha, version: VERSION };
  }
}
