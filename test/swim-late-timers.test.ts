import { describe, expect, it } from 'vitest';
import type { SwimCore } from '../agent/membership/swim/core.ts';
import { LATE_RETRIES } from '../agent/membership/swim/probe.ts';
import type { CoreInput, Effect } from '../agent/membership/swim/types.ts';
import { coreIn, firstPing, ids, run, seen, sent } from './helpers/swim.ts';

/**
 * Issue 13: a loaded event loop (50 agents on one host) ran every timer 0.6–0.9 s late yet ticked
 * often enough that the core's stall rule never fired, and charged its own lag to the members it
 * probed. A probe whose own timers ran late is no evidence (probe.ts).
 */

const LINK_MS = 20;

/**
 * Drives `core` as a busy loop does: each tick fires `lag` ms after the time the core asked for
 * (and at least every probe interval, like the shell), and the frames that arrived meanwhile are
 * read only after it (Node runs expired timers before it polls the sockets). Members in `dead`
 * never answer; every other member acks a ping, and a helper relays the ack of a ping-req, or
 * answers a nack after its own probe timeout (400 ms) when the target is dead.
 */
function busyLoop(core: SwimCore, lag: number, until: number, dead: ReadonlySet<string>) {
  const inbox: { at: number; input: CoreInput }[] = [];
  const fx: { at: number; e: Effect }[] = [];
  const take = (at: number, out: Effect[]): void => {
    for (const e of out) fx.push({ at, e });
    for (const s of sent(out)) {
      const target = s.msg.t === 'ping' ? s.to : s.msg.t === 'ping-req' ? s.msg.target : undefined;
      if (target === undefined) continue;
      if (dead.has(target)) {
        const nack = { type: 'probe' as const, from: s.to, msg: { t: 'nack' as const, seq: s.msg.seq }, now: 0 };
        if (s.msg.t === 'ping-req') inbox.push({ at: at + 400 + 2 * LINK_MS, input: nack });
        continue;
      }
      const rtt = s.msg.t === 'ping' ? 2 * LINK_MS : 4 * LINK_MS;
      inbox.push({ at: at + rtt, input: { type: 'probe', from: s.to, msg: { t: 'ack', seq: s.msg.seq }, now: 0 } });
    }
  };
  let next = 0; // the next tick
  for (let now = 0; now < until; ) {
    if (now >= next) take(now, core.step({ type: 'tick', now }));
    const ready = inbox.filter((m) => m.at <= now);
    for (const m of ready) {
      inbox.splice(inbox.indexOf(m), 1);
      take(now, core.step({ ...m.input, now } as CoreInput));
    }
    if (now >= next || lag === 0) next = Math.max(now + 1, Math.min(core.wakeAt, now + 1000) + lag);
    // An idle loop (lag 0) reads each frame when it comes; a busy one only at its next turn.
    now = lag === 0 ? Math.min(next, ...inbox.map((m) => m.at)) : next;
  }
  return fx;
}

const suspicions = (fx: { at: number; e: Effect }[]) =>
  fx.flatMap(({ at, e }) =>
    seen([e]).flatMap((s) => (s.startsWith('member-suspect:') ? [{ at, id: s.slice(15) }] : [])),
  );

describe('a probe timed by late timers is no evidence', () => {
  it('a node whose ticks always run 800 ms late suspects no live member', () => {
    const a = coreIn('node-000', ids(10));
    const fx = busyLoop(a, 800, 60_000, new Set());
    expect(sent(fx.map((f) => f.e)).filter((s) => s.msg.t === 'ping').length).toBeGreaterThan(20);
    expect(suspicions(fx)).toEqual([]);
  });

  it('an on-time node suspects a silent member at the end of its first probe, as before', () => {
    const p = firstPing(coreIn('node-000', ids(10)));
    const fx = busyLoop(coreIn('node-000', ids(10)), 0, 5000, new Set([p.to]));
    const at = fx.find(({ e }) => e.type === 'send' && e.msg.t === 'ping')!.at;
    // Ping-req 400 ms after the ping, suspicion at the end of the period (999 ms).
    expect(fx.find(({ e }) => e.type === 'send' && e.msg.t === 'ping-req')?.at).toBe(at + 400);
    expect(suspicions(fx)[0]).toEqual({ at: at + 999, id: p.to });
  });

  it('a node that stays late still suspects a silent member after a few re-probes of it', () => {
    const ping = firstPing(coreIn('node-000', ids(10)));
    const fx = busyLoop(coreIn('node-000', ids(10)), 800, 30_000, new Set([ping.to]));
    const pings = (until: number) =>
      fx.filter(({ at, e }) => at < until && e.type === 'send' && e.msg.t === 'ping' && e.to === ping.to).length;
    const first = suspicions(fx).find((s) => s.id === ping.to);
    expect(first).toBeDefined();
    expect(pings(first!.at)).toBe(LATE_RETRIES + 1);
    expect(first!.at).toBeLessThan(12_000);
    expect(suspicions(fx).filter((s) => s.id !== ping.to)).toEqual([]);
  });

  it('counts an ack to an earlier ping of the same target once its probe was re-sent', () => {
    const a = coreIn('node-000', ids(10));
    const ping = firstPing(a);
    const t = ping.at;
    // Our loop is late: the probe's timeout is seen at +1500 ms, its end 600 ms late after that.
    expect(seen(a.step({ type: 'tick', now: t + 1500 }))).toEqual([]);
    const again = sent(a.step({ type: 'tick', now: t + 2700 })).filter((s) => s.msg.t === 'ping' && s.to === ping.to);
    expect(again).toHaveLength(1);
    // The first ping's ack, queued all along, clears the target: the re-probe does not fail.
    a.step({ type: 'probe', from: ping.to, msg: { t: 'ack', seq: ping.seq }, now: t + 2700 });
    expect(seen(run(a, t + 2800, t + 4000))).not.toContain(`member-suspect:${ping.to}`);
    expect(a.get(ping.to)?.state).toBe('alive');
  });
});
