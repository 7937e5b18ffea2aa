import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { actedByLog, actingRuns, interleaving } from './faults/acting-order.ts';

/**
 * The fault suite's "one acting leader at a time" (test/faults/acting-order.ts): read from the
 * agents' logs, it must find an old leader that acts after the new one first did (A, B, A).
 */
describe('one acting leader at a time, by the agents’ logs', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const CUT = 1_000_000;
  const decision = (at: number, action = 'none', term = 1) =>
    JSON.stringify({ level: 30, time: new Date(at + 40).toISOString(), msg: 'scaling-decision', at, action, term });
  const intent = (at: number, term = 1) =>
    JSON.stringify({ level: 30, time: new Date(at).toISOString(), msg: 'scaling-intent', kind: 'expand', term });

  async function agents(logs: Record<string, string[]>) {
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-acting-order-'));
    dirs.push(dir);
    const out: { id: string; logFile: string }[] = [];
    for (const [id, lines] of Object.entries(logs)) {
      const logFile = join(dir, `${id}.log`);
      const noise = JSON.stringify({ level: 30, msg: 'member-joined', at: CUT + 5 });
      await writeFile(logFile, `${[...lines, noise, 'not json'].join('\n')}\n`);
      out.push({ id, logFile });
    }
    return out;
  }

  it('session 20’s 2+3 10 s cut: the cut-off leader expanded 15 ms after the new one first acted', async () => {
    const logs = await agents({
      'local-1': [decision(CUT - 3_000), intent(CUT + 1_324), decision(CUT + 1_324, 'expand')],
      'local-4': [decision(CUT + 1_309, 'none', 2), decision(CUT + 1_311, 'none', 2)],
    });
    const acted = await actedByLog(logs, CUT - 5_000);
    expect(acted.map((a) => [a.id, a.at - CUT, a.what])).toEqual([
      ['local-1', -3_000, 'none@1'],
      ['local-4', 1_309, 'none@2'],
      ['local-4', 1_311, 'none@2'],
      ['local-1', 1_324, 'intent expand@1'],
      ['local-1', 1_324, 'expand@1'],
    ]);
    expect(interleaving(acted, CUT)).toBe(
      'local-1 acted at +1324 ms (intent expand@1) after local-4 had at +1311 ms (none@2)',
    );
    expect(actingRuns(acted, CUT)).toEqual(['local-1 +-3000..+1324 ms (3)', 'local-4 +1309..+1311 ms (2)']);
  });

  it('the old leader’s last action before the new one’s first: no breach', async () => {
    const logs = await agents({
      'local-1': [decision(CUT - 3_000), decision(CUT + 900, 'expand')],
      'local-4': [decision(CUT + 2_600, 'none', 2), decision(CUT + 9_000, 'none', 2)],
      'local-2': [decision(CUT - 9_000)], // before the window
    });
    const acted = await actedByLog(logs, CUT - 5_000);
    expect(acted.map((a) => a.id)).toEqual(['local-1', 'local-1', 'local-4', 'local-4']);
    expect(interleaving(acted, CUT)).toBeNull();
  });

  it('an intent whose action was then fenced called no provider: not an action after the new leader’s', async () => {
    const fencedIntent = JSON.stringify({
      level: 30,
      time: new Date(CUT + 2_700).toISOString(),
      msg: 'scaling-intent',
      kind: 'expand',
      term: 1,
      token: 't-1-7',
    });
    // Its step began while acting (+900), stalled, and the fence's recheck refused the launch.
    const fencedDecision = JSON.stringify({
      level: 30,
      time: new Date(CUT + 2_800).toISOString(),
      type: 'scaling-decision',
      at: CUT + 900,
      action: 'expand',
      term: 1,
      token: 't-1-7',
      result: 'failed',
      error: 'term 1 is no longer ours: action fenced',
    });
    const logs = await agents({
      'local-1': [decision(CUT - 3_000), fencedIntent, fencedDecision],
      'local-4': [decision(CUT + 2_600, 'none', 2)],
    });
    const acted = await actedByLog(logs, CUT - 5_000);
    expect(acted.map((a) => [a.id, a.at - CUT, a.what])).toEqual([
      ['local-1', -3_000, 'none@1'],
      ['local-1', 900, 'expand@1'],
      ['local-4', 2_600, 'none@2'],
    ]);
    expect(interleaving(acted, CUT)).toBeNull();
    // The same intent not fenced (it reached the provider) is the breach.
    const unfenced = await agents({
      'local-1': [decision(CUT - 3_000), fencedIntent],
      'local-4': [decision(CUT + 2_600, 'none', 2)],
    });
    expect(interleaving(await actedByLog(unfenced, CUT - 5_000), CUT)).toBe(
      'local-1 acted at +2700 ms (intent expand@1) after local-4 had at +2600 ms (none@2)',
    );
  });
});
