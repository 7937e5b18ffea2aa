import { execFile } from 'node:child_process';
import type { ReadyView } from './monitor/readiness.ts';

/** How often readiness is checked while starting (ms), and how long before READY=1 anyway. */
export const READY_CHECK_MS = 500;
export const READY_AT_MOST_MS = 60_000;

export interface SystemdReadyOptions {
  ready: () => ReadyView;
  /** Sends one notification (default: `systemd-notify` with the given fields, waiting for systemd). */
  notify?: (fields: string[]) => Promise<void>;
  log: (msg: string, fields: Record<string, unknown>) => void;
  checkMs?: number;
  atMostMs?: number;
}

/**
 * Under a Type=notify unit (NOTIFY_SOCKET set), tells systemd READY=1 once the agent has joined
 * its pool, so `systemctl start` returns when the node serves; after `atMostMs` without that it
 * says READY=1 anyway with a STATUS naming the failing check (a node whose seeds are all down must
 * not be killed and restarted by systemd for it). Returns a function that stops waiting.
 */
export function notifySystemdWhenReady(o: SystemdReadyOptions): () => void {
  const notify = o.notify ?? systemdNotify;
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const view = o.ready();
    const late = Date.now() - started >= (o.atMostMs ?? READY_AT_MOST_MS);
    if (!view.ready && !late) {
      timer = setTimeout(check, o.checkMs ?? READY_CHECK_MS);
      return;
    }
    const failing = Object.entries(view.checks)
      .filter(([, c]) => !c.ok)
      .map(([name, c]) => `${name}: ${c.detail}`);
    const status = failing.length === 0 ? 'ready' : `serving, not ready: ${failing.join('; ')}`;
    notify(['--ready', `--status=${status}`]).then(
      () => o.log('systemd-notified', { status }),
      (err: Error) => o.log('systemd-notify-failed', { error: err.message }),
    );
  };
  check();
  return () => clearTimeout(timer);
}

/**
 * One `systemd-notify` run, waiting on its barrier until systemd has read the message. With
 * --no-block it exited at once, and systemd, finding the sender gone, could not place it in the
 * unit's cgroup and dropped READY=1: once in a CI run `systemctl start` then failed on
 * TimeoutStartSec although the agent had logged systemd-notified.
 */
function systemdNotify(fields: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('systemd-notify', fields, { timeout: 5000 }, (err) => (err ? reject(err) : resolve()));
  });
}
