import { afterEach, describe, expect, it } from 'vitest';
import { TestPool } from './helpers/agents.ts';

/**
 * The agent's event-loop lag gauge (`poolparty_event_loop_lag_seconds`, the dashboard's loop-lag
 * panel) is set by its beat: how late the 1 s beat ran. Its earlier setter went with the SWIM
 * rewrite and every agent exported 0. A real agent, its loop blocked for 1.5 s.
 */
let pool: TestPool | undefined;
afterEach(async () => {
  await pool?.cleanup();
  pool = undefined;
});

async function lagSeconds(monitorUrl: string): Promise<number> {
  const text = await (await fetch(`${monitorUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('poolparty_event_loop_lag_seconds '));
  if (!line) throw new Error('no poolparty_event_loop_lag_seconds in /metrics');
  return Number(line.split(' ')[1]);
}

describe('the event-loop lag gauge', () => {
  it('shows a stalled loop at the next beat', async () => {
    pool = await TestPool.create();
    const agent = await pool.start('w-1');
    await new Promise((r) => setTimeout(r, 2_500));
    const before = await lagSeconds(agent.monitorUrl);
    const until = performance.now() + 1_500;
    while (performance.now() < until) {
      // Blocks the loop, as a stalled agent's would be.
    }
    await new Promise((r) => setTimeout(r, 1_200));
    const after = await lagSeconds(agent.monitorUrl);
    expect(before).toBeLessThan(0.5);
    expect(after).toBeGreaterThan(0.4);
  });
});
