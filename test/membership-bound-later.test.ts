import { afterEach, describe, expect, it } from 'vitest';
import { type LaunchedInstance, launcherRecordSource } from '../agent/membership/binding.ts';
import { defaultSwimConfig } from '../agent/membership/swim/config.ts';
import { handleSync, pullTable, type Table } from '../agent/membership/sync.ts';
import { waitFor } from './fixtures/wait.ts';
import { recordOf, startBoundMembership, startNodePair } from './helpers/node-pair.ts';

/**
 * A member whose launch is recorded after its first sync (finding K, session 23): a leader killed
 * between spawning an agent and recording it; the agent joins the survivors at once, but its table
 * takes no part until the new leader adopts it, which the wait-out puts ~2.5 s after the claim.
 * The survivors then bind it within one binding re-check (2 s) — and, before, held it in their
 * view only at its next sync (the 10 s anti-entropy or pull-unknown period): kill-launch's
 * after-spawn rounds took 14-15 s where the others took 3-9 s. Once bound, it is pulled at once.
 */

const POOL = 'p';

describe('a member recorded after its first sync (finding K)', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });

  it('is held alive within a binding re-check of its launch being recorded, not at its next sync', async () => {
    const { m, y } = await startNodePair('poolparty-bound-later-', stops);
    const [self, yId] = [m.peerId.toString(), y.peerId.toString()];
    // Y answers syncs with its own table, as an agent does; it sends nothing unasked after its join.
    const yTable: Table = {
      entries: [{ id: yId, incarnation: 0, state: 'alive' }],
      records: [recordOf(yId, 'i-y', y)],
    };
    await handleSync(
      y,
      { pool: POOL, self: yId, maxMembers: 16, own: () => ({ hash: 'y', table: () => yTable }) },
      () => {},
    );
    const launched = new Map<string, LaunchedInstance>([
      ['i-m', { id: 'i-m', state: 'running', peerId: self, cloud: 'web' }],
    ]);
    const source = launcherRecordSource(() => launched);
    const rejects: string[] = [];
    // No anti-entropy of M's own within the test: only a pull upon binding can bring Y in.
    const swim = { ...defaultSwimConfig(), probeInterval: 600_000, syncInterval: 600_000 };
    const membership = await startBoundMembership(m, { pool: POOL, self, swim, source, rejects }, stops);
    const alive = () => [...membership.known()].some((k) => k.record.peerId === yId && k.liveness.state === 'alive');

    // Y's join sync, before its launch is recorded: its table takes no part.
    await y.dial(m.getMultiaddrs()[0]!);
    await pullTable(y, POOL, self, { hash: 'x', maxMembers: 16, held: undefined, mine: () => yTable });
    await waitFor('M refused Y’s table', () => rejects.some((d) => d.includes(`synced table from ${yId}`)));
    expect(alive()).toBe(false);

    // The new leader adopts Y: its launch is recorded now.
    const recordedAt = Date.now();
    launched.set('i-y', { id: 'i-y', state: 'running', peerId: yId, cloud: 'web' });
    await waitFor('M holds Y alive', alive, { timeoutMs: 6_000, everyMs: 50 });
    // One re-check (RECHECK_BINDING_MS 2 s, at a tick of at most 500 ms) and one pull.
    expect(Date.now() - recordedAt).toBeLessThan(4_000);
  }, 30_000);
});
