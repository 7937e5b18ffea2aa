import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isSupervised, restartRequested } from './restart.ts';
import { runningArtifact } from './running.ts';
import { ArtifactStore } from './store.ts';
import { supervise } from './supervisor.ts';

/** What the process entry (agent/main.ts) knows at these two moments. */
export interface BootInput {
  dataDir: string;
  configFile: string;
  log: { info(msg: string, fields?: Record<string, unknown>): void };
}

function run(i: BootInput): Promise<number> {
  return supervise({
    store: new ArtifactStore(i.dataDir),
    configFile: resolve(i.configFile),
    log: (msg, fields) => i.log.info(msg, fields),
  });
}

/**
 * At start: a node upgraded before (its `current.mjs` names another artifact) supervises that
 * artifact instead of running itself — after a reboot, or when a launcher starts the agent it
 * installed. Undefined: run this agent.
 */
export async function superviseIfUpgraded(i: BootInput): Promise<number | undefined> {
  if (isSupervised()) return undefined;
  const store = new ArtifactStore(i.dataDir);
  const current = await store.current();
  // Started from the link itself (the systemd unit execs current.mjs): nothing to supervise.
  const target = current && (await realpath(store.currentLink).catch(() => current));
  if (!target || target === runningArtifact().file) return undefined;
  return run(i);
}

/** After the agent stopped: when it stopped to restart into another artifact, supervise that one. */
export function afterStop(i: BootInput): Promise<number> {
  if (!restartRequested() || isSupervised()) return Promise.resolve(0);
  return run(i);
}
