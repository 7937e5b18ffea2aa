import { describe, expect, it } from 'vitest';
import { ActionLedger } from '../agent/scaler/ledger.ts';
import { type InstanceRecord, TAG_TOKEN } from '../shared/remoter/types.ts';
import type { Intent, Outcome } from '../shared/wire/heartbeat.ts';
import { type FakeProvider, fakeWebScaler } from './helpers/fake-scaler.ts';
import { intentRecord, memberView } from './helpers/records.ts';

/**
 * A dead leader's launch that the provider listed under its token is done for good, not only
 * while that listing lasts. Found by the EC2 kill-launch fault test (seed 3199153677, round 5,
 * 2026-12-07): round 4's leader died at RunInstances; the next leader saw the launch listed
 * (ledger.listedDone) and went on, then contracted that very instance at the start of round 5 and
 * died; with the instance no longer listed the intent, still without an outcome, was in flight
 * again, and the third leader's cloud — below min after the dead leader's replacement — waited
 * for it until intentTimeout: settle 40 s against 22 s.
 */

const NOW = 1_000_000;
const DEAD_INTENT = intentRecord({ peerId: 'p-dead', term: 1, action: 1, token: 'pp-1-1-x', at: NOW - 5000 });

function rec(id: string, token?: string): InstanceRecord {
  return { id, state: 'running', launchedAt: 0, tags: token ? { [TAG_TOKEN]: token } : {} };
}

/** A leader of cloud 'web' (min 3, max 4) in `term` with `ledger`; its members are what is listed. */
function leaderOver(term: number, ledger: ActionLedger) {
  const p: FakeProvider = { listed: [], launches: 0 };
  const l = fakeWebScaler(p, () => term, {
    ledger,
    selfPeerId: () => `p-leader-${term}`,
    members: () => p.listed.map((i) => memberView(i.id)),
  });
  return { ...l, p };
}

/** The leader's last round healed the cloud below min with one launch: it did not wait for the dead intent. */
function expectHealed(l: ReturnType<typeof leaderOver>): void {
  expect(l.decisions.at(-1), 'not waiting for pp-1-1-x').toMatchObject({
    action: 'expand',
    reason: 'below min: 2 < 3',
  });
  expect(l.p.launches).toBe(1);
}

/** A ledger holding the dead leader's intent, as every member's does. */
function ledgerWithDeadIntent(): ActionLedger {
  const ledger = new ActionLedger();
  ledger.intent(DEAD_INTENT);
  return ledger;
}

/** The term-2 leader after one round over a listing that shows the dead leader's launch (i-8). */
async function sawItListed() {
  const l = leaderOver(2, ledgerWithDeadIntent());
  l.p.listed = [rec('i-1'), rec('i-2'), rec('i-8', 'pp-1-1-x')];
  await l.scaler.step();
  return l;
}

describe("a dead leader's listed launch stays done", () => {
  it('when its instance is ended later, the leader that saw it listed does not wait for it again', async () => {
    const l = await sawItListed();
    expect(l.decisions.at(-1)?.blocked).toBeUndefined();
    // i-8 contracted (or replaced) since: 2 < min 3, healed at once.
    l.p.listed = [rec('i-1'), rec('i-2')];
    await l.scaler.step();
    expectHealed(l);
  });

  it('nor does the next leader, which never saw it listed', async () => {
    const a = await sawItListed();
    // A member that followed a: it got the dead leader's intent and whatever a announced.
    const ledger = ledgerWithDeadIntent();
    for (const m of a.published) {
      if (m.type === 'intent')
        ledger.intent({ ...(m as Omit<Intent, 'seq' | 'peerId'>), seq: 1, peerId: 'p-leader-2' });
      if (m.type === 'outcome')
        ledger.outcome({ ...(m as Omit<Outcome, 'seq' | 'peerId'>), seq: 1, peerId: 'p-leader-2' });
    }
    // a ended i-8 and died; that member now leads term 3, below min.
    const b = leaderOver(3, ledger);
    b.p.listed = [rec('i-1'), rec('i-2')];
    await b.scaler.step();
    expectHealed(b);
  });

  it('a launch never listed still waits (intentTimeout), as before', async () => {
    const l = leaderOver(2, ledgerWithDeadIntent());
    l.p.listed = [rec('i-1'), rec('i-2')];
    await l.scaler.step();
    expect(l.decisions.at(-1)).toMatchObject({ action: 'none', blocked: 'in-flight' });
    expect(l.p.launches).toBe(0);
    expect(l.published).toEqual([]);
  });
});
