import { mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SignedManifest } from '../../shared/upgrade/manifest.ts';
import { parseRolloutPlan, type RolloutPlan, type UpgradeOutcome } from '../../shared/upgrade/protocol.ts';
import { parseRollbackNotice, type RollbackNotice } from './rollback-notice.ts';

const SHA256 = /^[0-9a-f]{64}$/;

/** The file name every artifact keeps: process tables find agents by 'poolparty-agent' in it. */
export const ARTIFACT_NAME = 'poolparty-agent.mjs';

/** A restart into a new artifact waiting for its health gate (written before the restart). */
export interface Trial {
  sha256: string;
  /** What ran before: where a failed trial returns to. */
  previous: string;
  startedAt: number;
  /** How long the new agent has to be ready (ms). */
  gateMs: number;
  /** Set by the new agent once it is ready: the supervisor ends the trial as a success. */
  confirmedAt?: number;
}

/**
 * Agent artifacts on a node, in `<dataDir>/upgrade/`: each verified artifact with its signed
 * manifest under `artifacts/<sha256>/`, and two stable symlinks — `current.mjs` (what the
 * supervisor runs) and `previous.mjs` (what ran before, kept for rollback). Nothing enters
 * `artifacts/` unverified, so what is held can be served to peers as it is.
 */
export class ArtifactStore {
  readonly dir: string;
  /** The last plan read, and the file it was read from (plan()). */
  #plan: { key: string; plan: RolloutPlan | null } | null = null;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'upgrade');
  }

  get currentLink(): string {
    return join(this.dir, 'current.mjs');
  }

  get previousLink(): string {
    return join(this.dir, 'previous.mjs');
  }

  artifactPath(sha: string): string {
    return join(this.dir, 'artifacts', check(sha), ARTIFACT_NAME);
  }

  async read(sha: string): Promise<Buffer | null> {
    return readOrNull(this.artifactPath(sha));
  }

  /** The signed manifest kept beside an artifact (as stored: it was verified when put). */
  async signed(sha: string): Promise<SignedManifest | null> {
    const text = await readOrNull(join(this.dir, 'artifacts', check(sha), 'manifest.json'));
    return text ? (JSON.parse(text.toString('utf8')) as SignedManifest) : null;
  }

  async held(): Promise<string[]> {
    const names = await readdir(join(this.dir, 'artifacts')).catch(() => [] as string[]);
    return names.filter((n) => SHA256.test(n)).sort();
  }

  /** Keeps an artifact the caller verified against its signed manifest: whole or not at all. */
  async put(signed: SignedManifest, bytes: Buffer): Promise<void> {
    const sha = check(signed.manifest.sha256);
    const final = join(this.dir, 'artifacts', sha);
    const tmp = `${final}.${process.pid}.tmp`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    await writeFile(join(tmp, ARTIFACT_NAME), bytes, { mode: 0o600 });
    await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(signed)}\n`, { mode: 0o600 });
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
  }

  /** Where `current.mjs` points, or null when this node still runs what it was started with. */
  current(): Promise<string | null> {
    return readlink(this.currentLink).catch(() => null);
  }

  previous(): Promise<string | null> {
    return readlink(this.previousLink).catch(() => null);
  }

  /**
   * Points `current.mjs` at artifact `sha` and `previous.mjs` at what ran until now (`running`,
   * the file this process was started from), and opens the trial the supervisor judges.
   */
  async activate(sha: string, running: string, gateMs: number, now: number): Promise<Trial> {
    const target = this.artifactPath(sha);
    const previous = (await this.current()) ?? running;
    if (previous !== target) await this.#link(this.previousLink, previous);
    await this.#link(this.currentLink, target);
    const trial: Trial = { sha256: sha, previous, startedAt: now, gateMs };
    await this.writeTrial(trial);
    return trial;
  }

  /**
   * Removes every artifact that neither symlink names: a node keeps what it runs and what it
   * would roll back to, not every build it was ever handed. Returns the hashes removed.
   */
  async prune(): Promise<string[]> {
    const keep = new Set([await this.current(), await this.previous()]);
    const removed: string[] = [];
    for (const sha of await this.held()) {
      if (keep.has(this.artifactPath(sha))) continue;
      await rm(join(this.dir, 'artifacts', sha), { recursive: true, force: true });
      removed.push(sha);
    }
    return removed;
  }

  /** Points `current.mjs` back at `previous.mjs`'s target (and previous at what was current). */
  async rollback(): Promise<string | null> {
    const previous = await this.previous();
    if (!previous) return null;
    const current = await this.current();
    await this.#link(this.currentLink, previous);
    if (current) await this.#link(this.previousLink, current);
    return previous;
  }

  async trial(): Promise<Trial | null> {
    const text = await readOrNull(join(this.dir, 'trial.json'));
    return text ? (JSON.parse(text.toString('utf8')) as Trial) : null;
  }

  async writeTrial(trial: Trial | null): Promise<void> {
    if (!trial) return rm(join(this.dir, 'trial.json'), { force: true });
    await writeAtomically(join(this.dir, 'trial.json'), `${JSON.stringify(trial)}\n`);
  }

  /**
   * The artifact whose health gate is still open, or null: a trial that no outcome recorded since
   * it started settles (the supervisor writes the outcome before it clears the trial).
   */
  async openTrial(): Promise<string | null> {
    const trial = await this.trial();
    if (!trial) return null;
    const last = await this.outcome();
    return last?.sha256 === trial.sha256 && last.at >= trial.startedAt ? null : trial.sha256;
  }

  async outcome(): Promise<UpgradeOutcome | null> {
    const text = await readOrNull(join(this.dir, 'last.json'));
    return text ? (JSON.parse(text.toString('utf8')) as UpgradeOutcome) : null;
  }

  async writeOutcome(outcome: UpgradeOutcome): Promise<void> {
    await writeAtomically(join(this.dir, 'last.json'), `${JSON.stringify(outcome)}\n`);
  }

  /**
   * The rollout this node last staged for (what a new leader continues), or null. A leader with
   * no rollout looks at it every tick: it is read and parsed again only when the file changed
   * (another inode, mtime or size: every write renames a new file into place), else a stat.
   */
  async plan(): Promise<RolloutPlan | null> {
    const file = join(this.dir, 'rollout.json');
    const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!st) return null;
    const key = `${st.ino}:${st.mtimeMs}:${st.size}`;
    if (this.#plan?.key === key) return this.#plan.plan;
    const text = await readOrNull(file);
    let plan: RolloutPlan | null = null;
    try {
      plan = text ? (parseRolloutPlan(JSON.parse(text.toString('utf8'))) ?? null) : null;
    } catch {
      plan = null;
    }
    this.#plan = { key, plan };
    return plan;
  }

  /** Null forgets it: after a rollback nobody may continue the rollout that was undone. */
  async writePlan(plan: RolloutPlan | null): Promise<void> {
    if (!plan) return rm(join(this.dir, 'rollout.json'), { force: true });
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomically(join(this.dir, 'rollout.json'), `${JSON.stringify(plan)}\n`);
  }

  /** The `--rollback` run this node was told of (rollback-notice.ts), or null. */
  async rollbackNotice(): Promise<RollbackNotice | null> {
    const text = await readOrNull(join(this.dir, 'rollback.json'));
    return text ? parseRollbackNotice(text.toString('utf8')) : null;
  }

  async writeRollbackNotice(notice: RollbackNotice): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomically(join(this.dir, 'rollback.json'), `${JSON.stringify(notice)}\n`);
  }

  /** Replaces a symlink atomically: a new link under another name, renamed over the old one. */
  async #link(link: string, target: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${link}.${process.pid}.tmp`;
    await rm(tmp, { force: true });
    await symlink(target, tmp);
    await rename(tmp, link);
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}

async function readOrNull(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function check(sha: string): string {
  if (!SHA256.test(sha)) throw new Error(`not a sha256 hex digest: ${JSON.stringify(sha.slice(0, 80))}`);
  return sha;
}
