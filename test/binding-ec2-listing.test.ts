import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BindingSource, Claim } from '../agent/membership/binding.ts';
import { BindingCache } from '../agent/membership/binding-cache.ts';
import { type Ec2ListingOptions, Ec2ListingSource } from '../agent/membership/binding-ec2-listing.ts';
import type { ListedInstance, Located } from '../agent/membership/binding-ec2-listing-verdict.ts';

/**
 * The listing source's rules and timing (pure but for its timer, on fake timers): only the leader
 * lists; one listing serves every claim pending at the time; a claim is judged only by a listing
 * taken after it was first seen; a failed listing leaves claims unchecked and is said once. And
 * the binding cache re-checks such a source's unchecked verdicts when its revision moves, not on
 * a timer (so an idle follower costs nothing per member).
 */

const tags = { 'poolparty:pool': 'web', 'poolparty:cloud': 'app' };
const inst = (id: string, privateIp: string, state = 'running'): ListedInstance => ({ id, state, privateIp, tags });
const claim = (peerId: string, instanceId: string): Claim => ({ peerId, instanceId, cloud: 'app' });

function harness(over: Partial<Ec2ListingOptions> = {}) {
  let now = 1_000_000;
  let acting = true;
  const calls: number[] = [];
  const logs: { msg: string; fields: Record<string, unknown> }[] = [];
  let listed: ListedInstance[] | Error = [
    inst('i-1', '10.0.0.1'),
    inst('i-2', '10.0.0.2'),
    inst('i-3', '10.0.0.3', 'stopping'),
  ];
  const located = new Map<string, Located>();
  const source = new Ec2ListingSource({
    pool: 'web',
    cloud: 'app',
    acting: () => acting,
    list: async () => {
      calls.push(now);
      if (listed instanceof Error) throw listed;
      return listed;
    },
    connectedFrom: (peer) => (peer === 'P1' ? ['10.0.0.1'] : ['10.9.9.9']),
    locate: async (peer) => located.get(peer) ?? { kind: 'unreachable', error: 'ECONNREFUSED' },
    now: () => now,
    ttl: 60_000,
    minInterval: 2000,
    retryAfter: 10_000,
    log: (msg, fields) => logs.push({ msg, fields }),
    ...over,
  });
  return {
    source,
    calls,
    logs,
    located,
    setActing: (a: boolean) => {
      acting = a;
    },
    setListed: (l: ListedInstance[] | Error) => {
      listed = l;
    },
    /** Moves the clock and runs the timers due by then. */
    advance: async (ms: number) => {
      now += ms;
      await vi.advanceTimersByTimeAsync(ms);
    },
  };
}

describe('binding by the EC2 listing', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a follower lists nothing and leaves members unchecked', async () => {
    const h = harness();
    h.setActing(false);
    expect(h.source.check(claim('P1', 'i-1'))).toEqual({ kind: 'unchecked' });
    await h.advance(5000);
    expect(h.calls).toEqual([]);
  });

  it('the leader lists once for every pending claim, then judges each', async () => {
    const h = harness();
    h.located.set('P2', { kind: 'other', peerId: 'REAL' });
    const claims = [claim('P1', 'i-1'), claim('P2', 'i-2'), claim('P3', 'i-404'), claim('P4', 'i-3')];
    const before = h.source.revision();
    for (const c of claims) expect(h.source.check(c).kind).toBe('unchecked');
    await h.advance(1);
    expect(h.calls).toHaveLength(1);
    expect(h.source.revision()).toBeGreaterThan(before);
    expect(h.source.check(claims[0] as Claim)).toEqual({ kind: 'bound', by: 'ec2-listing' });
    // P2 connects from elsewhere: one dial to i-2's address finds another peer there.
    expect(h.source.check(claims[1] as Claim).kind).toBe('unchecked');
    await h.advance(1);
    const p2 = h.source.check(claims[1] as Claim);
    expect(p2).toMatchObject({ kind: 'unbound', reason: 'listing-mismatch' });
    expect(p2.kind === 'unbound' && p2.detail).toContain('10.0.0.2');
    expect(p2.kind === 'unbound' && p2.detail).toContain('10.9.9.9');
    expect(h.source.check(claims[2] as Claim)).toMatchObject({ kind: 'unbound', reason: 'not-listed' });
    expect(h.source.check(claims[3] as Claim)).toMatchObject({ kind: 'unbound', reason: 'not-listed' });
    expect(h.calls).toHaveLength(1);
  });

  it('judges a claim only by a listing taken after it was first seen, at most one listing per interval', async () => {
    const h = harness();
    h.source.check(claim('P1', 'i-1'));
    await h.advance(1);
    await h.advance(500);
    // A new instance launched after that listing: its claim waits for the next one.
    h.setListed([inst('i-1', '10.0.0.1'), inst('i-5', '10.0.0.5')]);
    h.located.set('P5', { kind: 'at' });
    expect(h.source.check(claim('P5', 'i-5')).kind).toBe('unchecked');
    await h.advance(1000);
    expect(h.calls).toHaveLength(1);
    await h.advance(1000);
    expect(h.calls).toHaveLength(2);
    expect(h.source.check(claim('P5', 'i-5')).kind).toBe('unchecked'); // dialling
    await h.advance(1);
    expect(h.source.check(claim('P5', 'i-5'))).toEqual({ kind: 'bound', by: 'ec2-listing' });
  });

  it('a throttled listing leaves claims unchecked, is said once, and is retried after the pause', async () => {
    const h = harness();
    h.setListed(Object.assign(new Error('EC2 throttled DescribeInstances'), { name: 'ThrottledError' }));
    h.source.check(claim('P3', 'i-404'));
    await h.advance(1);
    expect(h.source.check(claim('P3', 'i-404')).kind).toBe('unchecked');
    await h.advance(9000);
    expect(h.calls).toHaveLength(1);
    await h.advance(1000);
    expect(h.calls).toHaveLength(2);
    expect(h.logs.filter((l) => l.msg === 'binding-listing-unavailable')).toHaveLength(1);
    h.setListed([]);
    h.source.check(claim('P3', 'i-404'));
    await h.advance(10_000);
    expect(h.source.check(claim('P3', 'i-404'))).toMatchObject({ kind: 'unbound', reason: 'not-listed' });
  });

  it('the cache re-checks an unchecked verdict when the revision moves, not on its timer', () => {
    let revision = 0;
    let answer: 'unchecked' | 'bound' = 'unchecked';
    let checks = 0;
    const source: BindingSource = {
      name: 'listing-like',
      check: () => {
        checks++;
        return answer === 'bound' ? { kind: 'bound', by: 'listing-like' } : { kind: 'unchecked' };
      },
      revision: () => revision,
    };
    let now = 0;
    const cache = new BindingCache({ sourceFor: () => source, now: () => now, recheckAfter: 2000 });
    const c = claim('P1', 'i-1');
    expect(cache.check(c, () => undefined).kind).toBe('unchecked');
    now += 10_000;
    expect(cache.due()).toEqual([]);
    expect(cache.check(c, () => undefined).kind).toBe('unchecked');
    expect(checks).toBe(1);
    revision++;
    answer = 'bound';
    expect(cache.due()).toEqual(['P1']);
    expect(cache.check(c, () => undefined)).toEqual({ kind: 'bound', by: 'listing-like' });
    expect(cache.due()).toEqual([]);
  });
});
