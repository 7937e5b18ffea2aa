import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agreementByLog } from './faults/leader-log.ts';

/**
 * The fault tests' "one leader within 5 s of heal" by the agents' own logs (test/faults/leader-log.ts):
 * it must find two leaders that persist, and time the last agent's switch from the heal.
 */
describe('one leader after a heal, by the agents’ logs', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const HEAL = 1_000_000;
  const line = (msg: string, at: number, peerId?: string, term?: number) =>
    JSON.stringify({ level: 30, time: new Date(at).toISOString(), msg, at, peerId, term, component: 'agent' });

  async function agents(logs: Record<string, string[]>) {
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-leader-log-'));
    dirs.push(dir);
    const out: { id: string; logFile: string }[] = [];
    for (const [id, lines] of Object.entries(logs)) {
      const logFile = join(dir, `${id}.log`);
      const noise = JSON.stringify({ level: 30, msg: 'member-joined', at: HEAL + 5 });
      await writeFile(logFile, `${[...lines, noise, 'not json'].join('\n')}\n`);
      out.push({ id, logFile });
    }
    return out;
  }

  it('times the last agent to follow the one leader they all follow', async () => {
    const r = await agreementByLog(
      await agents({
        a: [line('leader-elected', HEAL - 60_000, 'P-a', 1), line('leader-elected', HEAL + 1200, 'P-c', 2)],
        b: [line('leader-elected', HEAL - 60_000, 'P-a', 1), line('leader-elected', HEAL + 2400, 'P-c', 2)],
        c: [line('leader-elected', HEAL - 28_000, 'P-c', 2)],
      }),
      HEAL,
    );
    expect(r.leader).toBe('P-c');
    expect(r.ms).toBe(2400);
  });

  it('finds two leaders that persist (the minority never switched), and an agent with none', async () => {
    const two = await agreementByLog(
      await agents({
        a: [line('leader-elected', HEAL - 60_000, 'P-a', 1)],
        b: [line('leader-elected', HEAL - 60_000, 'P-a', 1)],
        c: [line('leader-elected', HEAL - 28_000, 'P-c', 2)],
      }),
      HEAL,
    );
    expect(two).toMatchObject({ leader: null, ms: null });
    const none = await agreementByLog(
      await agents({
        a: [line('leader-elected', HEAL - 60_000, 'P-c', 2)],
        b: [line('leader-elected', HEAL - 60_000, 'P-c', 2), line('leader-lost', HEAL + 300, 'P-c', 2)],
      }),
      HEAL,
    );
    expect(none).toMatchObject({ leader: null, ms: null });
  });

  it('no change since the heal is agreement at 0 ms', async () => {
    const r = await agreementByLog(
      await agents({
        a: [line('leader-elected', HEAL - 5000, 'P-a', 3)],
        b: [line('leader-elected', HEAL - 4000, 'P-a', 3)],
      }),
      HEAL,
    );
    expect(r).toMatchObject({ leader: 'P-a', ms: 0 });
  });
});
