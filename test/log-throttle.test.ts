import { describe, expect, it } from 'vitest';
import { telemetry } from '../agent/compose/telemetry.ts';
import { EventHub } from '../agent/events.ts';
import { LogThrottle } from '../agent/monitor/log-throttle.ts';

describe('LogThrottle', () => {
  it('logs the first of a reason per window and reports how many it held back', () => {
    let t = 0;
    const th = new LogThrottle(10_000, () => t);
    expect(th.take('frame')).toEqual({ log: true, suppressed: 0 });
    for (let i = 0; i < 500; i++) expect(th.take('frame')).toEqual({ log: false });
    expect(th.take('unbound')).toEqual({ log: true, suppressed: 0 }); // reasons are apart
    t = 9_999;
    expect(th.take('frame')).toEqual({ log: false });
    t = 10_000;
    expect(th.take('frame')).toEqual({ log: true, suppressed: 501 });
    expect(th.take('frame')).toEqual({ log: false });
  });

  it('remembers a bounded number of reasons', () => {
    let t = 0;
    const th = new LogThrottle(10_000, () => t, 2);
    th.take('a');
    th.take('b');
    th.take('c'); // 'a' is forgotten: its next event logs again at once
    expect(th.take('a')).toEqual({ log: true, suppressed: 0 });
    t = 1;
    expect(th.take('c')).toEqual({ log: false });
  });
});

describe("the agent's reject log", () => {
  it('a flood of refused messages writes one line per reason per window; the metric counts all', async () => {
    let t = 1_000;
    const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
    const log = {
      debug: () => {},
      info: () => {},
      warn: (msg: string, fields?: Record<string, unknown>) => lines.push({ msg, fields }),
      error: () => {},
    };
    const tel = telemetry(
      log,
      new EventHub(),
      () => ({ alive: 0, suspect: 0, dead: 0, left: 0 }),
      () => t,
    );
    for (let i = 0; i < 10_000; i++) tel.onReject('frame', `bad frame ${i}`);
    tel.onReject('stale', 'old seq');
    expect(lines).toEqual([{ msg: 'message-rejected', fields: { reason: 'frame', detail: 'bad frame 0' } }]);
    t += 10_000;
    tel.onReject('frame', 'bad frame again');
    expect(lines[1]).toEqual({
      msg: 'message-rejected',
      fields: { reason: 'frame', detail: 'bad frame again', suppressed: 9_999 },
    });
    const text = await tel.metrics.registry.metrics();
    expect(text).toMatch(/heartbeats_rejected_total\{reason="frame"\} 10001/);
  });
});
