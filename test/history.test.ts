import { afterEach, describe, expect, it, vi } from 'vitest';
import { HistoryRecorder, PoolHistory, samplePool } from '../agent/monitor/history.ts';
import type { ClusterView, MemberView, PoolEvent } from '../shared/wire/cluster.ts';
import { TestPool } from './helpers/agents.ts';
import { memberView, scalingView } from './helpers/pool-views.ts';

const m = (id: string, cloud: string, state: MemberView['state']) => ({ ...memberView(id, cloud, state), peerId: id });
const cluster: ClusterView = {
  pool: 'p',
  self: 'a',
  leader: { peerId: 'a', term: 2 },
  members: [m('a', 'web', 'alive'), m('b', 'web', 'suspect'), m('c', 'batch', 'dead'), m('d', 'web', 'left')],
};
const scaling = {
  web: scalingView({ min: 1, max: 4 }, 2, { text: 'max(load) > 0.8', threshold: 0.8, value: 0.9 }, 800),
};

describe('pool history (pure)', () => {
  it('a sample counts members per cloud with bounds, and every rule term with its threshold', () => {
    expect(samplePool(10, cluster, scaling)).toEqual({
      at: 10,
      leader: { peerId: 'a', term: 2 },
      clouds: {
        web: { alive: 1, suspect: 1, dead: 0, min: 1, max: 4, counted: 2 },
        batch: { alive: 0, suspect: 0, dead: 1, min: null, max: null, counted: null },
      },
      rules: [
        { cloud: 'web', rule: 'expand', term: 'max(load) > 0.8', value: 0.9, threshold: 0.8, holds: true, heldMs: 800 },
      ],
    });
  });

  it('keeps only the newest samples and events', () => {
    const h = new PoolHistory(3, 2);
    for (let i = 0; i < 10; i++) {
      h.addSample(samplePool(i, cluster, undefined));
      h.addEvent({ type: 'leader-lost', peerId: 'a', term: i, at: i });
    }
    const v = h.view();
    expect(v.samples.map((s) => s.at)).toEqual([7, 8, 9]);
    expect(v.events.map((e) => e.at)).toEqual([8, 9]);
  });

  it('the recorder samples on start and on each tick, records events, and stops cleanly', () => {
    const listeners = new Set<(e: PoolEvent) => void>();
    let now = 100;
    const rec = new HistoryRecorder({
      now: () => now++,
      cluster: () => cluster,
      scaling: () => scaling,
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      every: 20,
    });
    const seen: number[] = [];
    rec.onSample((s) => seen.push(s.at));
    vi.useFakeTimers();
    try {
      rec.start();
      for (const l of listeners) l({ type: 'leader-lost', peerId: 'a', term: 1, at: 5 });
      vi.advanceTimersByTime(40);
      expect(seen).toHaveLength(3);
      rec.stop();
      expect(listeners.size).toBe(0);
      vi.advanceTimersByTime(100);
      expect(seen).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
    expect(rec.history.view().events).toHaveLength(1);
  });
});

describe('GET /history and the pool-sample stream on a real agent', () => {
  let pool: TestPool | undefined;
  afterEach(async () => {
    await pool?.cleanup();
    pool = undefined;
  });

  it('serves the samples taken since start, and /scaling lists the gossiped actions', async () => {
    pool = await TestPool.create();
    const a = await pool.start('h1');
    const res = await fetch(`${a.monitorUrl}/history`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { everyMs: number; samples: { clouds: Record<string, { alive: number }> }[] };
    expect(body.everyMs).toBe(5000);
    expect(body.samples.length).toBeGreaterThanOrEqual(1);
    expect(body.samples.at(-1)?.clouds.web?.alive).toBe(1);
    const scaling = (await (await fetch(`${a.monitorUrl}/scaling`)).json()) as { actions: unknown[] };
    expect(scaling.actions).toEqual([]);

    // A new sample reaches an open event stream.
    const ctl = new AbortController();
    const stream = await fetch(`${a.monitorUrl}/events`, { signal: ctl.signal });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    a.history?.sample();
    let text = '';
    while (!text.includes('event: pool-sample')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ctl.abort();
    expect(text).toContain('event: pool-sample');
  }, 60_000);
});
