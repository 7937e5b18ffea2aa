import { describe, expect, it } from 'vitest';
import { settle } from './bench/lib/settle.ts';
import { Tracker } from './bench/lib/tracker.ts';

/** A pool of one agent whose tracker holds the given raw events (as stall-agent.ts prints them). */
function pool(events: Array<{ type: string; at: number }>) {
  const tracker = new Tracker();
  tracker.add('p0');
  for (const e of events) tracker.ingest('p0', { agent: 0, type: e.type, peerId: 'peer-b', at: e.at });
  return { agents: [{ peerId: 'peer-b' }], tracker } as unknown as Parameters<typeof settle>[0];
}

describe('bench settle (the idle window waits for a quiet pool)', () => {
  it('is quiet once no membership event came for quietMs', async () => {
    const from = Date.now() - 5000;
    const r = await settle(pool([{ type: 'member-joined', at: from + 1000 }]), from, 0, 1000, 10_000);
    expect(r.quiet).toBe(true);
  });

  it('keeps waiting while events come, and gives up at maxMs', async () => {
    const from = Date.now();
    const r = await settle(pool([{ type: 'member-suspect', at: from + 60_000 }]), from, 0, 1000, 1500);
    expect(r).toMatchObject({ quiet: false });
    expect(r.ms).toBeGreaterThanOrEqual(1500);
  });

  it('ignores events that are not about the pool members', async () => {
    const from = Date.now() - 5000;
    const r = await settle(pool([{ type: 'agent-started', at: from + 4900 }]), from, 0, 1000, 1500);
    expect(r.quiet).toBe(true);
  });
});
