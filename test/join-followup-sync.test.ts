import { afterEach, describe, expect, it } from 'vitest';
import type { DigestEntry } from '../agent/membership/swim/types.ts';
import { handleSync, ownTable, pullTable, type Table } from '../agent/membership/sync.ts';
import { SYNCS_AT_ONCE, SyncRunner } from '../agent/membership/sync-runner.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { syncProtocol } from '../shared/wire/probe.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * Follow-up syncs after news (issue 13, stale views on real agents): the core counts each against
 * its budget of 2⌈log₂(N+1)⌉ when it asks for it, so the shell must carry each out. Before, one
 * sync ran at a time and a follow-up that came due meanwhile was dropped: on a loaded machine,
 * where a pull takes seconds, most of the budget was spent without a sync. And a peer that took
 * the sync stream and never answered held that one sync until the stream's 120 s inactivity timeout.
 * Real libp2p nodes on loopback.
 */

const entry = (id: string): DigestEntry => ({ id, incarnation: 0, state: 'alive' });
const POOL = 'p';

describe('follow-up syncs on real libp2p nodes', () => {
  const nodes: PoolNode[] = [];
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop();
  });

  async function node(key: Uint8Array): Promise<PoolNode> {
    const n = await startPoolNode(key);
    nodes.push(n);
    return n;
  }

  /** A member that serves its table: itself and `also`. */
  async function member(key: Uint8Array, also: string): Promise<PoolNode> {
    const n = await node(key);
    const self = n.peerId.toString();
    const t: Table = { entries: [entry(self), entry(also)], records: [] };
    const own = () => ownTable(t.entries, { get: () => undefined, all: () => [] });
    await handleSync(n, { pool: POOL, self, maxMembers: 16, own }, () => undefined);
    return n;
  }

  /** A peer that accepts the sync stream and never answers (a stalled or wedged agent). */
  async function tarpit(key: Uint8Array): Promise<PoolNode> {
    const n = await node(key);
    await n.handle(syncProtocol(POOL), () => undefined);
    return n;
  }

  function puller(n: PoolNode, timeoutMs: number) {
    const mine: Table = { entries: [entry(n.peerId.toString())], records: [] };
    const own = ownTable(mine.entries, { get: () => undefined, all: () => [] });
    return (peer: string) =>
      pullTable(n, POOL, peer, {
        hash: own.hash,
        maxMembers: 16,
        held: undefined,
        timeoutMs,
        exchangeMs: timeoutMs,
        mine: () => mine,
      });
  }

  it('a pull from a peer that takes the stream and never answers gives up after its timeout', async () => {
    const key = generatePoolKey();
    const [a, wedged] = [await node(key), await tarpit(key)];
    await a.dial(wedged.getMultiaddrs()[0]!);
    const started = Date.now();
    const outcome = await Promise.race([
      puller(
        a,
        1_000,
      )(wedged.peerId.toString()).then(
        () => 'answered',
        () => 'gave up',
      ),
      new Promise((r) => setTimeout(() => r('still waiting'), 10_000)),
    ]);
    expect(outcome).toBe('gave up');
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 30_000);

  it('follow-ups that come due while syncs run are carried out once a slot frees, none dropped', async () => {
    const key = generatePoolKey();
    const a = await node(key);
    const [w1, w2] = [await tarpit(key), await tarpit(key)];
    const news = ['joiner-1', 'joiner-2'];
    const [m1, m2] = [await member(key, news[0]!), await member(key, news[1]!)];
    for (const p of [w1, w2, m1, m2]) await a.dial(p.getMultiaddrs()[0]!);
    const learnt = new Set<string>();
    const pull = puller(a, 1_500);
    // Two slots, so the two wedged peers fill them (the default has more: SYNCS_AT_ONCE).
    const runner = new SyncRunner(async (peer) => {
      const t = await pull(peer);
      for (const e of t?.entries ?? []) learnt.add(e.id);
    }, 2);
    // Two slow pulls first (the wedged peers), then two follow-ups come due while they run.
    for (const p of [w1, w2, m1, m2]) runner.request(p.peerId.toString());
    await waitFor('both follow-ups to have pulled their news', () => news.every((id) => learnt.has(id)), {
      timeoutMs: 15_000,
    });
    await waitFor('every sync to have ended', () => runner.pending.running === 0);
    runner.stop();
  }, 40_000);
});

describe('SyncRunner bookkeeping', () => {
  it('runs SYNCS_AT_ONCE syncs at once by default and queues the next', () => {
    const started: string[] = [];
    const runner = new SyncRunner((peer) => {
      started.push(peer);
      return new Promise<void>(() => undefined);
    });
    const peers = Array.from({ length: SYNCS_AT_ONCE + 1 }, (_, i) => `p${i}`);
    for (const p of peers) runner.request(p, true);
    expect(started).toEqual(peers.slice(0, SYNCS_AT_ONCE));
    expect(runner.pending).toEqual({ running: SYNCS_AT_ONCE, queued: 1 });
    runner.stop();
  });

  it('queues a partner once, lets the newest request in when full, and runs nothing after stop', async () => {
    const started: string[] = [];
    const ends = new Map<string, () => void>();
    const runner = new SyncRunner(
      (peer) => {
        started.push(peer);
        return new Promise<void>((r) => ends.set(peer, r));
      },
      1,
      2,
    );
    for (const p of ['a', 'b', 'b', 'c', 'd']) runner.request(p);
    // a runs; b queued once; c then d: the queue holds two, so b (the oldest) gave way to d.
    expect(started).toEqual(['a']);
    expect(runner.pending).toEqual({ running: 1, queued: 2 });
    ends.get('a')?.();
    await waitFor('c to start once a ended', () => started.includes('c'));
    expect(started).toEqual(['a', 'c']);
    runner.stop();
    ends.get('c')?.();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a', 'c']);
  });

  it('tells each sync whether a request for it passed news on (a follow-up skips the hash ask)', async () => {
    const started: [string, boolean][] = [];
    const ends: (() => void)[] = [];
    const runner = new SyncRunner((peer, news) => {
      started.push([peer, news]);
      return new Promise<void>((r) => ends.push(r));
    }, 1);
    runner.request('a', true);
    runner.request('b'); // routine, queued
    runner.request('b', true); // a follow-up to the partner already queued: it carries news now
    runner.request('c'); // routine
    for (const name of ['b', 'c']) {
      ends.shift()?.();
      await waitFor(`${name} to start`, () => started.some(([p]) => p === name));
    }
    expect(started).toEqual([
      ['a', true],
      ['b', true],
      ['c', false],
    ]);
    runner.stop();
    ends.shift()?.();
  });
});
