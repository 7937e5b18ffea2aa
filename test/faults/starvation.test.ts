import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultPool } from '../fixtures/fault-pool.ts';
import { waitFor } from '../fixtures/wait.ts';

/**
 * CPU starvation of one agent of a real 3-agent pool: its event loop stalled by SIGSTOP for 2 s
 * (three times), then its CPU taken by busy loops on every core while it runs at nice 19. No
 * member may be declared dead, nothing replaced or launched. The pool runs with the production
 * ratios of suspicion to a stall (suspectAfter 3 s, deadAfter 5 s: tunables.ts says suspectAfter
 * must outlast a 2 s stall) on fast 250 ms probes.
 */

describe('CPU starvation of one agent (real agents)', () => {
  let pool: FaultPool;
  const hogs: ChildProcess[] = [];
  const stopped: number[] = [];

  beforeAll(async () => {
    pool = await FaultPool.create({ name: 'starve', min: 3, max: 5, agent: ["suspectAfter: '3s'", "deadAfter: '5s'"] });
    await pool.bootstrap();
    pool.startSampler();
  });

  afterAll(async () => {
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    for (const h of hogs) h.kill('SIGKILL');
    await pool?.cleanup();
  });

  /** Watches every monitor's /cluster every 200 ms; returns the states `id` was ever seen in. */
  function watch(id: string): { stop: () => Promise<Set<string>> } {
    const seen = new Set<string>();
    let on = true;
    const loop = (async () => {
      while (on) {
        for (const inst of await pool.live().catch(() => [])) {
          if (inst.id === id) continue;
          const view = await pool.cluster(inst.id).catch(() => null);
          const state = view?.members.find((m) => m.instanceId === id)?.state;
          if (state) seen.add(state);
        }
        // The sampling period of this watch, which records every state; nothing waits on it.
        await sleep(200);
      }
    })();
    return {
      stop: async () => {
        on = false;
        await loop;
        return seen;
      },
    };
  }

  async function deathsLogged(): Promise<string[]> {
    const out: string[] = [];
    for (const inst of await pool.live()) {
      const log = await readFile(join(pool.stateDir, 'local', inst.id, 'agent.log'), 'utf8').catch(() => '');
      out.push(...log.split('\n').filter((l) => l.includes('"msg":"member-dead"')));
    }
    return out;
  }

  for (const role of ['follower', 'leader'] as const) {
    it(`a ${role} stalled 3 × 2 s by SIGSTOP, then starved at nice 19: no false death`, async () => {
      await waitFor('3 alive', () => pool.converged(3), { timeoutMs: 90_000, everyMs: 500 });
      const leader = await waitFor('one leader', () => pool.agreedLeader(), { timeoutMs: 60_000 });
      const live = await pool.live();
      const ids = live.map((i) => i.id).sort();
      const target = live.find((i) => (role === 'leader') === (i.id === leader.instanceId));
      if (!target?.pid) throw new Error(`no ${role}`);
      const pid = target.pid;
      const w = watch(target.id);
      // Each stall and the starvation below last a fixed time: that is the fault injected. Between
      // and after them the test waits for the target to be heard from again by every other agent.
      const heardAgain = (since: number, what: string) =>
        waitFor(
          `${target.id} heard from alive by every other agent ${what}`,
          () => pool.heardAliveSince(target.id, since),
          {
            timeoutMs: 30_000,
            everyMs: 200,
          },
        ).catch(() => undefined); // a target never heard again fails the checks below, which say why
      for (let n = 0; n < 3; n++) {
        process.kill(pid, 'SIGSTOP');
        stopped.push(pid);
        await sleep(2000);
        process.kill(pid, 'SIGCONT');
        stopped.pop();
        await heardAgain(Date.now(), `after stall ${n + 1}`);
      }
      execFileSync('renice', ['-n', '19', '-p', String(pid)], { stdio: 'ignore' });
      for (let n = 0; n < Math.max(2, cpus().length); n++) {
        hogs.push(spawn(process.execPath, ['-e', 'const end = Date.now() + 10000; while (Date.now() < end) {}']));
      }
      await sleep(10_000);
      for (const h of hogs.splice(0)) h.kill('SIGKILL');
      execFileSync('renice', ['-n', '0', '-p', String(pid)], { stdio: 'ignore' });
      // A death needs a suspicion first, and /cluster shows one as 'suspect'; so once every agent
      // lists the target alive and heard from after the fault, no suspicion the fault raised is
      // still running: it was refuted, or it became the death the watch would have seen.
      await heardAgain(Date.now(), 'after the starvation');
      const states = await w.stop();
      console.info(`starvation (${role} ${target.id}): states seen ${[...states].join(', ')}`);
      expect([...states], 'never declared dead').not.toContain('dead');
      expect(await deathsLogged()).toEqual([]);
      expect((await pool.live()).map((i) => i.id).sort(), 'nothing replaced or launched').toEqual(ids);
      expect(pool.maxSeen).toBe(3);
      await waitFor('3 alive after', () => pool.converged(3), { timeoutMs: 30_000, everyMs: 500 });
    });
  }

  it('terminate leaves nothing', async () => {
    const { run, pids, listed } = await pool.terminate();
    expect(run.code, run.stderr).toBe(0);
    expect(pids).toEqual([]);
    expect(listed).toEqual([]);
  });
});
