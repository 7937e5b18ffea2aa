import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPackageRoot } from './remoter/package-root.ts';

/**
 * Files an agent needs beside its code when it acts as a leader: the systemd unit it writes into
 * new instances' user data (ec2) or onto new hosts (ssh), and the agent artifact it uploads (ssh).
 * From the package (CLI, tests, `npm run demo`) they are the package's files. A node runs the
 * single-file artifact from /opt/poolparty with no package around it, so the artifact build
 * (scripts/build-artifact.mjs) defines __POOLPARTY_ARTIFACT__: the unit's text, and the
 * artifact's own directory is where its file and manifest are.
 */

declare const __POOLPARTY_ARTIFACT__: { unit: string } | undefined;

/** What the artifact build embedded, or undefined when running from the package. */
function embedded(): { unit: string } | undefined {
  return typeof __POOLPARTY_ARTIFACT__ === 'undefined' ? undefined : __POOLPARTY_ARTIFACT__;
}

/** The agent's systemd unit name (without .service): the file in systemd/ and on every host. */
export const UNIT_NAME = 'poolparty-agent';

/** Whether this code runs inside the single-file agent artifact. */
function runningFromArtifact(): boolean {
  return embedded() !== undefined;
}

/** The systemd unit template: embedded in the artifact, else the package's systemd/ file. */
export async function agentUnitText(file?: string): Promise<string> {
  const inArtifact = embedded();
  if (file === undefined && inArtifact) return inArtifact.unit;
  return readFile(file ?? join(findPackageRoot(), 'systemd', `${UNIT_NAME}.service`), 'utf8');
}

/**
 * The single-file artifact this code runs as (its real path: node resolves the symlink it was
 * started by), or undefined when it runs from the package. A local-pool leader that was upgraded
 * launches new instances from it (shared/remoter/local-agent-bin.ts).
 */
export function runningArtifactFile(): string | undefined {
  return runningFromArtifact() ? fileURLToPath(import.meta.url) : undefined;
}

/**
 * Where the agent artifact and its manifest are: the artifact's own directory when this runs as
 * the artifact (an ssh-cloud leader uploads the very file it runs), else the package's build.
 */
export function agentArtifactDir(): string {
  const running = runningArtifactFile();
  if (running) return dirname(running);
  return join(findPackageRoot(), 'dist', 'artifact');
}
