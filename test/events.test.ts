import { describe, expect, it } from 'vitest';
import { EventHub } from '../agent/events.ts';
import type { MemberEvent } from '../shared/wire/cluster.ts';

/** Manual timers so coalescing is tested without sleeping. */
function fakeTimers() {
  const pending = new Set<{ fn: () => void }>();
  return {
    setTimer: (fn: () => void) => {
      const h = { fn };
      pending.add(h);
      return h;
    },
    clearTimer: (h: unknown) => pending.delete(h as { fn: () => void }),
    fire() {
      const now = [...pending];
      pending.clear();
      for (const h of now) h.fn();
    },
    get size() {
      return pending.size;
    },
  };
}

const ev = (type: MemberEvent['type'], peerId = 'a'): MemberEvent => ({ type, peerId, instanceId: 'i', at: 0 });

describe('event hub', () => {
  it('delivers the first event of a member at once and coalesces a flap to its net change', () => {
    const timers = fakeTimers();
    const hub = new EventHub({ coalesceWindow: 1000, ...timers });
    const seen: string[] = [];
    hub.subscribe((e) => seen.push(`${'peerId' in e ? e.peerId : ''}:${e.type}`));
    hub.emit(ev('member-suspect'));
    hub.emit(ev('member-recovered'));
    hub.emit(ev('member-suspect'));
    hub.emit(ev('member-joined', 'b'));
    expect(seen).toEqual(['a:member-suspect', 'b:member-joined']);
    timers.fire();
    // a ended the window as it started (suspect): nothing more to say.
    expect(seen).toEqual(['a:member-suspect', 'b:member-joined']);
    hub.emit(ev('member-suspect'));
    hub.emit(ev('member-dead'));
    timers.fire();
    expect(seen).toEqual(['a:member-suspect', 'b:member-joined', 'a:member-suspect', 'a:member-dead']);
  });

  it('isolates a throwing listener and supports unsubscribe', () => {
    const hub = new EventHub({ coalesceWindow: 0 });
    const seen: string[] = [];
    hub.subscribe(() => {
      throw new Error('broken');
    });
    const off = hub.subscribe((e) => seen.push(e.type));
    hub.emit(ev('member-joined'));
    expect(seen).toEqual(['member-joined']);
    expect(hub.listenerCount).toBe(2);
    off();
    hub.emit(ev('member-left'));
    expect(seen).toEqual(['member-joined']);
    expect(hub.listenerCount).toBe(1);
  });

  it('flush delivers held events and clears timers', () => {
    const timers = fakeTimers();
    const hub = new EventHub({ coalesceWindow: 1000, ...timers });
    const seen: string[] = [];
    hub.subscribe((e) => seen.push(e.type));
    hub.emit(ev('member-suspect'));
    hub.emit(ev('member-dead'));
    hub.flush();
    expect(seen).toEqual(['member-suspect', 'member-dead']);
    expect(timers.size).toBe(0);
  });
});
