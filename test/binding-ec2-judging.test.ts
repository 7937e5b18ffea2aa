import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Claim } from '../agent/membership/binding.ts';
import { BindingCache } from '../agent/membership/binding-cache.ts';
import { ec2Listings } from '../agent/membership/binding-ec2-listers.ts';
import { Ec2ListingSource } from '../agent/membership/binding-ec2-listing.ts';
import { HeldRefusals } from '../agent/membership/binding-ec2-listing-held.ts';
import type { ListedInstance } from '../agent/membership/binding-ec2-listing-verdict.ts';
import { bindingSources } from '../agent/membership/binding-sources.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';

/**
 * Issue 15, two gaps of EC2 binding by the leader's listing (binding-ec2-listing.ts):
 *  - a claim the leader has not judged yet (before its first listing, or first seen after the
 *    listing it has) was `unchecked`: it took part at once, first claim wins. Now it is held
 *    (unbound `judging`) until the listing and dial answer — at most `judgeWithin`, and not past a
 *    failed listing — unless it took part on this node before (a new leader keeps the members it
 *    followed with while it first lists), and a new leader lists at once;
 *  - an agent without the pool definition (it never leads, so it cannot list) ignored the leader's
 *    refusals in its summary; now its source for such a cloud honours them.
 */

const tags = { 'poolparty:pool': 'web', 'poolparty:cloud': 'app' };
const running = (id: string, privateIp: string): ListedInstance => ({ id, state: 'running', privateIp, tags });
const claim = (peerId: string, instanceId: string): Claim => ({ peerId, instanceId, cloud: 'app' });

describe('a claim the leader has not judged yet (binding cache over the listing source)', () => {
  let now = 1_000_000;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 1_000_000;
  });
  afterEach(() => vi.useRealTimers());

  function harness(acting = true) {
    const state = { acting, calls: 0, list: async (): Promise<ListedInstance[]> => [running('i-1', '10.0.0.1')] };
    const logs: { msg: string; fields: Record<string, unknown> }[] = [];
    const source = new Ec2ListingSource({
      pool: 'web',
      cloud: 'app',
      acting: () => state.acting,
      list: () => {
        state.calls++;
        return state.list();
      },
      connectedFrom: (peer) => (peer === 'P1' ? ['10.0.0.1'] : []),
      locate: async () => ({ kind: 'unreachable', error: 'ECONNREFUSED' }),
      now: () => now,
      ttl: 60_000,
      minInterval: 2000,
      retryAfter: 10_000,
      judgeWithin: 10_000,
      log: (msg, fields) => logs.push({ msg, fields }),
    });
    const cache = new BindingCache({ sourceFor: () => source, now: () => now, recheckAfter: 2000 });
    const check = (c: Claim) => cache.check(c, () => undefined);
    /** The cache's tick: re-checks what is due. */
    const tick = () => cache.due().map((peer) => [peer, check(claim(peer, peer === 'P1' ? 'i-1' : 'i-404')).kind]);
    const advance = async (ms: number) => {
      now += ms;
      await vi.advanceTimersByTimeAsync(ms);
    };
    return { state, logs, cache, check, tick, advance };
  }

  it('takes no part until the listing judges it, then is bound or refused', async () => {
    const h = harness();
    expect(h.check(claim('P1', 'i-1'))).toMatchObject({ kind: 'unbound', reason: 'judging' });
    expect(h.check(claim('P3', 'i-404'))).toMatchObject({ kind: 'unbound', reason: 'judging' });
    expect([h.cache.takesPart('P1'), h.cache.takesPart('P3')]).toEqual([false, false]);
    await h.advance(1);
    expect(h.state.calls).toBe(1);
    expect(h.tick()).toEqual([
      ['P1', 'bound'],
      ['P3', 'unbound'],
    ]);
    expect(h.cache.verdict('P3')).toMatchObject({ reason: 'not-listed' });
    expect([h.cache.takesPart('P1'), h.cache.takesPart('P3')]).toEqual([true, false]);
  });

  it('a new leader lists at once and keeps the members it followed with, holding only new claims', async () => {
    const h = harness(false);
    expect(h.check(claim('P1', 'i-1'))).toEqual({ kind: 'unchecked' });
    expect(h.check(claim('P2', 'i-404'))).toEqual({ kind: 'unchecked' });
    h.state.acting = true;
    // The cache's next tick reads the source's revision: it moved, and the listing is on its way.
    expect(h.tick()).toEqual([
      ['P1', 'unchecked'],
      ['P2', 'unchecked'],
    ]);
    expect([h.cache.takesPart('P1'), h.cache.takesPart('P2')]).toEqual([true, true]);
    expect(h.check(claim('P5', 'i-404'))).toMatchObject({ kind: 'unbound', reason: 'judging' });
    await h.advance(1);
    expect(h.state.calls).toBe(1);
    expect(Object.fromEntries(h.tick())).toEqual({ P1: 'bound', P2: 'unbound', P5: 'unbound' });
    expect([h.cache.takesPart('P2'), h.cache.takesPart('P5')]).toEqual([false, false]);
  });

  it('is held at most judgeWithin: a hung listing leaves it unchecked, said once', async () => {
    const h = harness();
    h.state.list = () => new Promise(() => undefined);
    expect(h.check(claim('P1', 'i-1'))).toMatchObject({ reason: 'judging' });
    await h.advance(8000);
    expect(h.tick()).toEqual([['P1', 'unbound']]);
    await h.advance(2000);
    expect(h.tick()).toEqual([['P1', 'unchecked']]);
    expect(h.cache.takesPart('P1')).toBe(true);
    await h.advance(2000);
    h.tick();
    const late = h.logs.filter((l) => l.msg === 'binding-listing-late');
    expect(late.map((l) => [l.fields.peerId, l.fields.waitedMs])).toEqual([['P1', 10_000]]);
  });

  it('is unchecked once the listing failed (as binding-listing-unavailable says)', async () => {
    const h = harness();
    h.state.list = async () => {
      throw Object.assign(new Error('throttled'), { name: 'RequestLimitExceeded' });
    };
    expect(h.check(claim('P1', 'i-1'))).toMatchObject({ reason: 'judging' });
    await h.advance(1);
    expect(h.tick()).toEqual([['P1', 'unchecked']]);
    expect(h.logs.map((l) => l.msg)).toEqual(['binding-listing-unavailable']);
  });
});

describe('an agent without the pool definition honours the leader’s refusals', () => {
  it('its source for an ec2 cloud without identityCertificate refuses what the leader refused', () => {
    let now = 5_000_000;
    const config = {
      pool: 'web',
      cloud: 'app',
      instanceId: 'i-9',
      binding: { app: { provider: 'ec2' } },
    } as unknown as AgentConfig;
    const held = new HeldRefusals({ now: () => now });
    const warned: { msg: string; fields: Record<string, unknown> }[] = [];
    const listing = ec2Listings({
      config,
      node: {} as PoolNode,
      acting: () => false,
      now: () => now,
      log: () => undefined,
      held,
    });
    const sources = bindingSources(
      config,
      { peerId: 'F' },
      (msg, fields) => warned.push({ msg, fields }),
      () => now,
      listing,
    );
    expect(warned.map((w) => w.msg)).toEqual(['binding-by-leader']);
    expect(String(warned[0]?.fields.why)).toContain('no pool definition');
    const cache = new BindingCache({ sourceFor: sources, now: () => now, recheckAfter: 2000 });
    expect(cache.check(claim('S', 'i-404'), () => undefined)).toEqual({ kind: 'unchecked' });
    expect(cache.check(claim('M', 'i-1'), () => undefined)).toEqual({ kind: 'unchecked' });
    held.hold({ peerId: 'L', term: 3 }, ['S'], 120_000, 'F');
    expect(cache.due().sort()).toEqual(['M', 'S']); // one revision for the source: its waiting claims
    expect(cache.check(claim('S', 'i-404'), () => undefined)).toMatchObject({ kind: 'unbound', reason: 'not-listed' });
    expect(cache.check(claim('M', 'i-1'), () => undefined)).toEqual({ kind: 'unchecked' });
    expect([cache.takesPart('S'), cache.takesPart('M')]).toEqual([false, true]);
    now += 120_000;
    expect(held.verdict('S')).toBeUndefined(); // not repeated by the leader: it lapses
  });
});
