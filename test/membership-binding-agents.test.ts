import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encode } from 'cborg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameToWire } from '../shared/wire/probe.ts';
import { FaultPool, rejected } from './fixtures/fault-pool.ts';
import { waitForHeldAtBound } from './fixtures/scaling-watch.ts';
import { waitFor } from './fixtures/wait.ts';
import { RoguePeer } from './helpers/rogue-peer.ts';

/**
 * Membership is bound to instances the provider runs (agent/membership/binding.ts), on a real
 * local pool of 3 agents (min 3, max 5, expand when max(queue) > 10). Two peers hold the pool key
 * and join as raw libp2p nodes:
 *  - "phantom" claims an instance the launcher never made (local-99), the oldest start time (the
 *    election would pick it), and reports queue = 1000 to every agent as load (a lease ack too);
 *  - "usurper" claims a real member's instance id and reports the same load.
 * Both answer probes, so without binding they pass for live members: run against the tree before
 * binding, the phantom is counted everywhere, the leader launches two instances for its load and
 * no real member takes over when the leader dies. With binding neither may be counted, followed
 * or elected; the leader launches nothing for their load, terminates no real instance, and after
 * the leader is killed the next leader is a real member.
 */

const POOL = 'binding';

describe('membership bound to launched instances (real agents)', () => {
  let pool: FaultPool;
  const rogues: RoguePeer[] = [];
  let reporting = true;

  beforeAll(async () => {
    pool = await FaultPool.create({ name: POOL, min: 3, max: 5 });
    await pool.bootstrap();
    pool.startSampler();
  }, 200_000);

  afterAll(async () => {
    reporting = false;
    await Promise.allSettled(rogues.map((r) => r.stop()));
    await pool?.cleanup();
  }, 120_000);

  it('a key holder without an instance, or with another member’s, takes no part', async () => {
    await waitFor('3 alive', () => pool.converged(3), { timeoutMs: 90_000, everyMs: 500 });
    const leader = await waitFor('one leader', () => pool.agreedLeader(), { timeoutMs: 60_000 });
    const before = await pool.live();
    const ids = before.map((i) => i.id).sort();
    const victim = before.find((i) => i.id !== leader.instanceId);
    if (!victim?.peerId) throw new Error('no second member');
    // The real members report a queue of 0, so the contract rule holds with the pool at its min:
    // the leader's evaluations of it (blocked at min) show below when it has had its chances to
    // act on the rogues' load, and it holds only while their queue of 1000 is not counted.
    await pool.setQueue(0);
    const quietFrom = Date.now();
    const monitors = async () => (await pool.live()).map((i) => i.monitor as string);
    const unboundBefore = await Promise.all(before.map((i) => rejected(i.monitor as string, 'unbound')));

    const keyFile = join(pool.stateDir, 'pool.key');
    const phantom = await RoguePeer.start(POOL, keyFile);
    const usurper = await RoguePeer.start(POOL, keyFile);
    rogues.push(phantom, usurper);
    for (const r of rogues) await r.join(before.map((i) => `/ip4/${i.address}/tcp/8643`));
    // startedAt 1 (RoguePeer's): the oldest, so the election would pick a rogue if it counted.
    await phantom.claim('local-99', 'web');
    await usurper.claim(victim.id, 'web');
    // Both answer probes (so they look alive) and report a queue of 1000 to every agent, naming
    // the current term (a lease ack), every 500 ms.
    for (const r of rogues) await r.answerProbes();
    const peers = before.map((i) => i.peerId as string);
    const report = async () => {
      while (reporting) {
        const term = (await pool.agreedLeader().catch(() => null))?.term ?? leader.term;
        const bytes = encode(frameToWire({ t: 'load', term, metrics: { queue: 1000 } }));
        for (const r of rogues) for (const p of peers) await r.sendFrame(p, bytes).catch(() => undefined);
        // The rogues' reporting period (part of the attack, as an agent's loadInterval).
        await sleep(500);
      }
    };
    const reporter = report();

    // Every agent refused some of the rogues' claims or frames as unbound; then the leader has
    // evaluated its rules round after round with their load arriving.
    await waitFor(
      'every agent to refuse the rogues as unbound',
      async () =>
        (await Promise.all(before.map((i) => rejected(i.monitor as string, 'unbound')))).every(
          (n, k) => n > (unboundBefore[k] ?? 0),
        ),
      { timeoutMs: 30_000 },
    );
    const held = await waitForHeldAtBound(monitors, 'contract', { since: quietFrom, rounds: 4 });
    expect(held.rules?.expand?.holds, 'the expand rule counted no rogue’s queue').toBe(false);
    const rogueIds = rogues.map((r) => r.peerId);
    for (const inst of before) {
      const view = await pool.cluster(inst.id);
      const members = view?.members.map((m) => m.peerId) ?? [];
      for (const r of rogueIds) expect(members, `${inst.id} counts no rogue`).not.toContain(r);
      expect(view?.members.find((m) => m.peerId === victim.peerId)?.instanceId).toBe(victim.id);
    }
    expect((await pool.agreedLeader())?.peerId, 'leadership did not move').toBe(leader.peerId);
    expect((await pool.live()).map((i) => i.id).sort(), 'nothing launched, nothing terminated').toEqual(ids);
    const acted = (await pool.decisions()).filter((d) => d.action !== 'none' && d.result === 'ok');
    expect(acted, 'no scaling action for the rogues’ load').toEqual([]);

    // The leader dies: the oldest start time is the phantom's, but the next leader must be real.
    const killedAt = Date.now();
    process.kill(before.find((i) => i.id === leader.instanceId)?.pid as number, 'SIGKILL');
    const next = await waitFor(
      'a new leader',
      async () => {
        const l = await pool.agreedLeader();
        return l && l.peerId !== leader.peerId ? l : null;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    expect(peers, 'the new leader is a real member').toContain(next.peerId);
    expect(rogueIds).not.toContain(next.peerId);
    // The new leader heals the killed leader's instance (below min: expected), then holds at min
    // round after round with the rogues' load still arriving; an expansion by the rule is not expected.
    const heldNext = await waitForHeldAtBound(monitors, 'contract', { since: killedAt, rounds: 4, timeoutMs: 60_000 });
    expect(heldNext.rules?.expand?.holds, 'the new leader’s expand rule counted no rogue’s queue').toBe(false);
    const expanded = (await pool.decisions()).filter(
      (d) => d.action === 'expand' && d.result === 'ok' && !d.reason.startsWith('below min'),
    );
    expect(expanded, 'no expansion for the rogues’ load under the new leader either').toEqual([]);
    expect(pool.maxSeen, 'never above the real pool plus a replacement').toBeLessThanOrEqual(4);
    const live = await pool.live();
    expect(
      live.map((i) => i.id),
      'the usurped instance was not terminated',
    ).toContain(victim.id);
    reporting = false;
    await reporter;
  }, 240_000);
});
