import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ARTIFACT_FILE, defaultArtifactDir, MANIFEST_FILE } from '../shared/provision/artifact.ts';
import { findPackageRoot } from '../shared/remoter/package-root.ts';
import { OperationError } from './command.ts';

const run = promisify(execFile);

/** The single-file agent could not be built. */
export class ArtifactBuildError extends OperationError {
  override name = 'ArtifactBuildError';
}

/** Where the CLI takes the agent artifact from: $POOLPARTY_ARTIFACT_DIR, else <package>/dist/artifact. */
export function artifactDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.POOLPARTY_ARTIFACT_DIR ? resolve(env.POOLPARTY_ARTIFACT_DIR) : defaultArtifactDir();
}

/**
 * Makes sure dist/artifact holds the single-file agent the ssh provisioner uploads, building it
 * (scripts/build-artifact.mjs, a few seconds of esbuild) when it is missing — a fresh checkout
 * should not need a separate build step before its first ssh bootstrap.
 */
export async function ensureArtifact(progress: (line: string) => void, dir = artifactDir()): Promise<string> {
  const present = await Promise.all(
    [ARTIFACT_FILE, MANIFEST_FILE].map((f) =>
      access(join(dir, f)).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (present.every(Boolean)) return dir;
  const root = findPackageRoot();
  progress(`building the agent artifact (${dir})`);
  try {
    await run(process.execPath, [join(root, 'scripts', 'build-artifact.mjs'), '--outdir', dir], {
      cwd: root,
      timeout: 180_000,
    });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    const detail = (e.stderr?.trim().split('\n').pop() ?? e.message).trim();
    throw new ArtifactBuildError(`cannot build the agent artifact: ${detail} (run: node scripts/build-artifact.mjs)`);
  }
  return dir;
}
