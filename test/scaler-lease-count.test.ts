import { describe, expect, it } from 'vitest';
import { holdsLease } from '../agent/leadership/lease.ts';
import type { InstanceRecord, RemoterBase } from '../shared/remoter/types.ts';
import { fakeWebScaler } from './helpers/fake-scaler.ts';

/**
 * The pool size a leader's quorum lease is counted against comes from the scaler's last provider
 * listing. Found by the EC2 kill-launch fault test (issue 15): a node that had counted 4 instances
 * while leading, then followed while another leader shrank the pool to 3, was re-elected when that
 * leader died — and with its old count of 4 it needed 3 acknowledgements where 2 of the 3 were
 * alive, so it never held the lease, never listed again to correct the count, and the pool was
 * left without a leader that acts (10 minutes, until the test gave up).
 */

function instances(n: number): InstanceRecord[] {
  return Array.from({ length: n }, (_, k) => ({ id: `i-${k + 1}`, state: 'running', launchedAt: 0, tags: {} }));
}

describe("the lease's pool size is the scaler's count in the leader's own term", () => {
  it('a count from an earlier term does not count for a new one, so a re-elected leader regains its lease', async () => {
    const provider = { listed: instances(4), launches: 0 };
    let term: number | null = 3;
    const { scaler } = fakeWebScaler(provider, () => term);
    await scaler.step();
    expect(scaler.countedIn(3)).toBe(4);

    // Following: another leader shrinks the pool to 3 and dies; 2 of the 3 are alive.
    term = null;
    provider.listed = instances(3);
    await scaler.step();
    expect(scaler.countedIn(3), 'not counted while following').toBe(4);
    // Re-elected in term 4 with one acknowledgement: the old count of 4 would need three.
    expect(holdsLease({ ackers: 1, members: 2, listed: 4 })).toBe(false);
    expect(scaler.countedIn(4)).toBeNull();
    expect(holdsLease({ ackers: 1, members: 2, listed: scaler.countedIn(4) ?? 0 })).toBe(true);

    term = 4;
    await scaler.step();
    expect(scaler.countedIn(4)).toBe(3);
    expect(holdsLease({ ackers: 1, members: 2, listed: scaler.countedIn(4) ?? 0 })).toBe(true);
    expect(scaler.snapshot().instances, 'what /scaling shows: the latest count').toBe(3);
  });

  it('a count that takes the lease away stops the round: nothing announced, nothing launched', async () => {
    let held = true;
    const provider = { listed: instances(1), launches: 0, onList: () => (held = false) };
    const { scaler, published } = fakeWebScaler(provider, () => (held ? 5 : null));
    await scaler.step(); // 1 listed, min 3: it would launch 2 on a lease it still held
    expect(scaler.countedIn(5)).toBe(1);
    expect(published).toEqual([]);
    expect(provider.launches).toBe(0);
  });

  it('a new term counts before its leader-start reconcile: a count that takes the lease away ends no stray', async () => {
    // Fault suite, session 22: a member cut off alone (everyone else dead in its view) claimed and
    // held a lease of one, and reconciled (which may end strays) before any count told it of 6.
    let held = true;
    let reconciles = 0;
    const lists: boolean[] = [];
    const remoter: RemoterBase = {
      provider: 'fake',
      list: async () => {
        lists.push(held);
        held = false; // 5 listed: a majority of one no more
        return instances(5);
      },
      launch: async () => [],
      terminate: async () => {},
      reconcile: async () => {
        reconciles++;
        return { adopted: [], cleared: [], strays: ['i-9'] };
      },
    };
    const lone = fakeWebScaler({ listed: [], launches: 0 }, () => (held ? 2 : null), { remoter: () => remoter });
    await lone.scaler.step();
    expect(lists).toEqual([true]);
    expect(reconciles).toBe(0);
    expect(lone.scaler.countedIn(2)).toBe(5);
    expect(lone.decisions).toEqual([]);

    // The same first step where the count keeps the lease: counted, reconciled, counted again.
    held = true;
    lists.length = 0;
    const kept = fakeWebScaler({ listed: [], launches: 0 }, () => 3, {
      remoter: () => ({
        ...remoter,
        list: async () => {
          lists.push(true);
          return instances(3);
        },
      }),
    });
    await kept.scaler.step();
    expect(reconciles).toBe(1);
    expect(lists).toEqual([true, true]);
    expect(kept.decisions[0]?.reason).toContain('ended strays i-9');
  });
});
