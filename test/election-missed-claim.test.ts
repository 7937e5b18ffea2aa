import { describe, expect, it } from 'vitest';
import { ControlRouter } from '../agent/control.ts';
import type { GossipChannel } from '../agent/gossip.ts';
import { Leadership } from '../agent/leadership.ts';
import type { LoadExchange } from '../agent/load/exchange.ts';
import type { MembershipOptions } from '../agent/membership/membership-options.ts';
import { OwnRecord } from '../agent/membership/record-push.ts';
import { RecordBook } from '../agent/membership/records.ts';
import { newerThan, ownTable } from '../agent/membership/sync.ts';
import { ActionLedger } from '../agent/scaler/ledger.ts';
import { clientToken } from '../agent/scaler/token.ts';
import type { FramedChannel } from '../agent/transport/channel.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import { intentRecord, memberRecord } from './helpers/records.ts';

/**
 * The window a follower's unpublished term leaves open (record-push.ts): a member that missed a
 * claim's record is the next to claim once the claimant dies. It reads the next claim's number
 * from its view (election.ts: its own term, `seenTerm`, the alive members' `term` and `leads`;
 * no dead member's record). The claimant's intents do not close it: control.ts observes terms
 * only from the leader this member follows, and it follows no one. Its records of the followers
 * carry their old term until a sync (or any other publication of theirs) brings the new one, so
 * one lost gossip delivery lets it claim the dead claimant's term again, with the same client
 * tokens (scaler/token.ts). At 7d54bf0 the window was the followers' 2-8 s delay; LeaderDuty's
 * `tellSuccessors` (a claim pushed point to point to the two members next in line) closes it
 * unless that push is lost too. These tests wire the real record, election and control pieces
 * together without sockets.
 */

const NOW = 1_700_000_000_000;
const POOL = 'pool';

/** One member: its record book (everyone's records), its own record and its election. */
interface Member {
  id: string;
  book: RecordBook;
  own: OwnRecord;
  leadership: Leadership;
}

/**
 * A pool whose members publish into one another's books, except for the (publisher, receiver)
 * pairs in `lost`. Ages: the first id is the oldest (the first to claim), and so on.
 */
function pool(ids: string[]) {
  const members = new Map<string, Member>();
  const dead = new Set<string>();
  const lost = new Set<string>();
  let now = NOW;
  for (const [i, id] of ids.entries()) {
    const leadership = new Leadership({ selfPeerId: () => id, startedAt: i, settleAfter: 0 });
    const o = {
      self: id,
      now: () => now,
      record: () => memberRecord(id, { startedAt: i, ...leadership.heartbeatFields() }),
      log: () => undefined,
      onBytes: () => undefined,
      swim: { maxMembers: 64 },
    } as unknown as MembershipOptions;
    const topic = {
      publish: async (h: Heartbeat) => {
        for (const m of members.values())
          if (m.id !== id && !dead.has(m.id) && !lost.has(`${id}>${m.id}`)) m.book.accept(h);
      },
    } as unknown as GossipChannel;
    const book = new RecordBook(64);
    const own = new OwnRecord(o, book, topic, {} as FramedChannel);
    members.set(id, { id, book, own, leadership });
  }
  const get = (id: string) => members.get(id) as Member;
  /** One election round on every live member over its own book, then its record check (as the agent ticks). */
  const round = () => {
    now += 500;
    for (const m of members.values()) {
      if (dead.has(m.id)) continue;
      const alive = [...m.book.all()].filter((h) => h.peerId !== m.id && !dead.has(h.peerId));
      m.leadership.step(alive, now);
      m.own.refresh();
    }
  };
  /** An anti-entropy sync: `from` pulls `peer`'s table and pushes back what it holds newer. */
  const sync = (from: string, peer: string) => {
    const [a, b] = [get(from), get(peer)];
    const table = (m: Member) => ownTable([], m.book).table();
    const pulled = table(b);
    for (const h of pulled.records) a.book.accept(h);
    for (const h of newerThan(table(a), pulled).records) b.book.accept(h);
  };
  return { get, round, sync, dead, lost, now: () => now };
}

/** M's control router: whether an intent of the new leader reaches M's election. */
function routerOf(m: Member, now: number) {
  return new ControlRouter({
    self: () => m.id,
    now: () => now,
    leadership: m.leadership,
    ledger: new ActionLedger(),
    load: {} as LoadExchange,
    retire: () => undefined,
    log: () => undefined,
  });
}

/**
 * L0 leads term 1; L0 dies and L (the oldest left) claims term 2; M, next in age, misses L's
 * claim record (one lost delivery) and L's intent; then L dies too.
 */
function missedClaim() {
  const followers = ['F1', 'F2', 'F3', 'F4', 'F5'];
  const p = pool(['L0', 'L', 'M', ...followers]);
  for (let i = 0; i < 3; i++) p.round();
  expect(p.get('M').leadership.leader).toMatchObject({ peerId: 'L0', term: 1 });
  p.dead.add('L0');
  p.lost.add('L>M');
  for (let i = 0; i < 3; i++) p.round();
  expect(p.get('L').leadership.leads).toBe(2);
  for (const f of followers) expect(p.get(f).leadership.leader).toMatchObject({ peerId: 'L', term: 2 });
  // L acts in term 2: its first intent's token is (2, 1). M follows no one, so the intent is
  // refused before its term is observed (control.ts `fromLeader`).
  const first = clientToken(POOL, 'web', 2, 1);
  routerOf(p.get('M'), p.now()).receive(intentRecord({ peerId: 'L', term: 2, action: 1, token: first, at: p.now() }));
  expect(p.get('M').leadership.leader).toBeNull();
  expect(p.get('M').leadership.term).toBe(1);
  return { p, followers, first };
}

describe('a member that missed a claim, when the claimant dies', () => {
  it('claims the same term again, and the followers follow it there (one leader per term breaks)', () => {
    const { p, followers, first } = missedClaim();
    // The followers' term 2 is in their own books only (record-push.ts): M still holds term 1 for all.
    for (const f of followers) {
      expect(p.get(f).book.get(f)?.term).toBe(2);
      expect(p.get('M').book.get(f)?.term).toBe(1);
    }
    p.dead.add('L');
    for (let i = 0; i < 3; i++) p.round();
    expect(p.get('M').leadership.leads).toBe(2);
    for (const f of followers) expect(p.get(f).leadership.leader).toMatchObject({ peerId: 'M', term: 2 });
    // M's ledger never held L's intents: its first action in term 2 is number 1 again, with L's token.
    expect(clientToken(POOL, 'web', p.get('M').leadership.leads as number, 1)).toBe(first);
  });

  it('claims one above once any follower published its term (HEAD: 2-8 s after the claim)', () => {
    const { p } = missedClaim();
    void p.get('F3').own.publish({ ...(p.get('F3').book.get('F3') as Heartbeat) });
    p.dead.add('L');
    for (let i = 0; i < 3; i++) p.round();
    expect(p.get('M').leadership.leads).toBe(3);
  });

  it('claims one above once one sync with any member carried the term', () => {
    const { p, followers } = missedClaim();
    p.sync('M', 'F4');
    p.dead.add('L');
    for (let i = 0; i < 3; i++) p.round();
    expect(p.get('M').leadership.leads).toBe(3);
    for (const f of followers) expect(p.get(f).leadership.leader).toMatchObject({ peerId: 'M', term: 3 });
  });

  it('claims one above when the claim was also pushed to it as next in line (duty.ts tellSuccessors)', () => {
    const { p, followers } = missedClaim();
    // The agent pushes a claim point to point to the two oldest others (membership.pushRecord).
    // M steps on it while L lives (it follows L at 2); the election reads no dead member's term.
    p.get('M').book.accept(p.get('L').book.get('L') as Heartbeat);
    p.round();
    expect(p.get('M').leadership.leader).toMatchObject({ peerId: 'L', term: 2 });
    p.dead.add('L');
    for (let i = 0; i < 3; i++) p.round();
    expect(p.get('M').leadership.leads).toBe(3);
    for (const f of followers) expect(p.get(f).leadership.leader).toMatchObject({ peerId: 'M', term: 3 });
  });

  it('a follower that missed the claim is harmless: it follows the claimant once its record arrives', () => {
    const followers = ['F1', 'F2', 'F3'];
    const p = pool(['L0', 'L', 'M', ...followers]);
    for (let i = 0; i < 3; i++) p.round();
    p.dead.add('L0');
    p.lost.add('L>F2');
    for (let i = 0; i < 3; i++) p.round();
    expect(p.get('F2').leadership.leader).toBeNull();
    p.dead.add('L');
    for (let i = 0; i < 3; i++) p.round();
    // M (which saw the claim) claims 3; F2 follows it: only the next claimant's view matters.
    expect(p.get('M').leadership.leads).toBe(3);
    expect(p.get('F2').leadership.leader).toMatchObject({ peerId: 'M', term: 3 });
  });
});
