import { existsSync } from 'node:fs';
import { lstat, readFile, readlink, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * How long after its request was signed a `--rollback` run still steers launches (ms): the
 * request is good for 10 minutes, and a run of many members, each within its gate, may take longer.
 */
export const ROLLBACK_STEERS_FOR = 3_600_000;

/**
 * The file a leader that runs an upgraded artifact should launch new instances from while a
 * `poolparty upgrade --rollback` is under way, or null when none is. The leader returns last, so
 * while the pool goes back it still runs the artifact the pool leaves: an instance launched from
 * that (a replacement of a lost member) would have nothing to return to and stay on it for good.
 * So while this node was told of a run (agent/upgrade/rollback-notice.ts: `rollback.json` in its
 * upgrade store) and has not returned for it, and was not activated again since (an upgrade after
 * the run re-points `current.mjs`), it launches what it returns to: `previous.mjs`'s target.
 * `running`: `<dataDir>/upgrade/artifacts/<sha256>/poolparty-agent.mjs`. Reads only; never throws.
 */
export async function rollbackLaunchTarget(running: string, now = Date.now()): Promise<string | null> {
  const store = dirname(dirname(dirname(running)));
  try {
    const file = join(store, 'rollback.json');
    const notice = JSON.parse(await readFile(file, 'utf8')) as {
      returnedAt?: unknown;
      signed?: { request?: { issuedAt?: unknown } };
    };
    const issuedAt = notice.signed?.request?.issuedAt;
    if (notice.returnedAt !== undefined || typeof issuedAt !== 'number') return null;
    if (now - issuedAt > ROLLBACK_STEERS_FOR) return null;
    const [told, current] = await Promise.all([stat(file), lstat(join(store, 'current.mjs'))]);
    if (current.mtimeMs > told.mtimeMs) return null;
    const previous = await readlink(join(store, 'previous.mjs'));
    return existsSync(previous) ? previous : null;
  } catch {
    return null;
  }
}
