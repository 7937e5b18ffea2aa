import { type ChildProcess, spawn } from 'node:child_process';
import { AGENT_NODE_FLAGS } from '../../shared/agent-node-flags.ts';
import { judgeTrial } from './gate.ts';
import { SUPERVISED_ENV } from './restart.ts';
import type { ArtifactStore } from './store.ts';

export interface SuperviseOptions {
  store: ArtifactStore;
  configFile: string;
  log: (msg: string, fields: Record<string, unknown>) => void;
  now?: () => number;
  /** How often a trial's confirmation is looked for (ms). */
  pollMs?: number;
  /** After SIGTERM, how long a child under a failed trial may take to leave before SIGKILL (ms). */
  stopGraceMs?: number;
}

interface Exit {
  code: number | null;
  signal: string | null;
}

/**
 * Runs `current.mjs` as a child and keeps running it: when the child exits after `current.mjs`
 * was pointed elsewhere (an activation), the new target starts; a new target under trial that
 * exits or is not ready within its gate is stopped, `current.mjs` returns to `previous.mjs`, and
 * the previous artifact starts again — by this node alone, whatever the leader does. SIGTERM and
 * SIGINT go to the child, and the supervisor exits with the child's code. This process keeps
 * the pid the launcher recorded (local pools) and the unit's main pid (systemd).
 */
export async function supervise(o: SuperviseOptions): Promise<number> {
  const now = o.now ?? Date.now;
  let stopping = false;
  let child: ChildProcess | null = null;
  const forward = (signal: NodeJS.Signals) => {
    stopping = true;
    child?.kill(signal);
  };
  process.on('SIGTERM', () => forward('SIGTERM'));
  process.on('SIGINT', () => forward('SIGINT'));
  for (;;) {
    const file = await o.store.current();
    if (!file) return 1;
    const spawnedAt = now();
    const running: ChildProcess = spawn(process.execPath, [...AGENT_NODE_FLAGS, file, '--config', o.configFile], {
      stdio: 'inherit',
      env: { ...process.env, [SUPERVISED_ENV]: '1' },
    });
    child = running;
    let exited: Exit | null = null;
    const exit = new Promise<Exit>((resolve) => {
      running.on('exit', (code, signal) => {
        exited = { code, signal };
        resolve(exited);
      });
      running.on('error', () => resolve({ code: 127, signal: null }));
    });
    o.log('supervisor-started', { file, pid: running.pid });
    const trial = await o.store.trial();
    if (trial && trial.confirmedAt === undefined && file.includes(trial.sha256)) {
      const failure = await gate(o, spawnedAt, () => exited, now);
      if (failure && !stopping) {
        if (!exited) await stopChild(running, exit, o.stopGraceMs ?? 15_000);
        const back = await o.store.rollback();
        // The outcome first: a trial with its outcome recorded is over (store.openTrial).
        await o.store.writeOutcome({ sha256: trial.sha256, ok: false, reason: failure, at: now() });
        await o.store.writeTrial(null);
        o.log('upgrade-rolled-back', { sha256: trial.sha256, reason: failure, to: back });
        continue;
      }
      if (!failure) {
        await o.store.writeOutcome({ sha256: trial.sha256, ok: true, at: now() });
        await o.store.writeTrial(null);
        o.log('upgrade-confirmed', { sha256: trial.sha256 });
      }
    }
    const end = await exit;
    if (stopping) return end.code ?? 1;
    if ((await o.store.current()) !== file) continue;
    return end.code ?? 1;
  }
}

/** Waits for the trial's verdict; null when the new agent passed, else why it failed. */
async function gate(
  o: SuperviseOptions,
  spawnedAt: number,
  exited: () => Exit | null,
  now: () => number,
): Promise<string | null> {
  for (;;) {
    const trial = await o.store.trial();
    if (!trial) return null;
    const verdict = judgeTrial(trial, { spawnedAt, now: now(), exited: exited() });
    if (verdict.done) return verdict.ok ? null : verdict.reason;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 250));
  }
}

async function stopChild(child: ChildProcess, exit: Promise<Exit>, graceMs: number): Promise<void> {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exit;
  clearTimeout(timer);
}
