import { describe, expect, it } from 'vitest';
import { telemetry } from '../agent/compose/telemetry.ts';
import { EventHub } from '../agent/events.ts';
import type { AgentLog } from '../agent/types.ts';
import type { UpgradeEvent } from '../shared/wire/cluster.ts';

describe("an upgrade rollout's events in the agent's log", () => {
  it('a halt is a warning, the rest of the rollout news', () => {
    const lines: string[] = [];
    const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
    const log: AgentLog = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const hub = new EventHub({ coalesceWindow: 0 });
    telemetry(
      log,
      hub,
      () => ({ alive: 0, suspect: 0, dead: 0, left: 0 }),
      () => 0,
    );
    const base = { sha: 'a'.repeat(64), version: '2', at: 1 };
    const events: UpgradeEvent[] = [
      { type: 'upgrade-started', ...base, members: 3, resumed: false },
      { type: 'upgrade-progress', ...base, peerId: 'p', instanceId: 'i-1', phase: 'restarting' },
      { type: 'upgrade-halted', ...base, peerId: 'p', instanceId: 'i-1', reason: 'rolled back: exited (code 3)' },
      { type: 'upgrade-complete', ...base, members: 3 },
    ];
    for (const e of events) hub.emit(e);
    expect(lines).toEqual([
      'info upgrade-started',
      'info upgrade-progress',
      'warn upgrade-halted',
      'info upgrade-complete',
    ]);
  });
});
