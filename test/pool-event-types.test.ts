import { describe, expect, it } from 'vitest';
import { PAGE_HTML } from '../agent/monitor/page-assets.ts';
import { parseSseBlock } from '../cli/monitor-client.ts';
import { POOL_EVENT_GROUPS } from '../shared/wire/pool-event-types.ts';

const block = (type: string) => `event: ${type}\ndata: ${JSON.stringify({ type, at: 1 })}`;

describe('the one list of pool event types', () => {
  it('groups every type once', () => {
    const all = Object.keys(POOL_EVENT_GROUPS);
    expect(new Set(all).size).toBe(all.length);
    expect(all.filter((t) => POOL_EVENT_GROUPS[t as keyof typeof POOL_EVENT_GROUPS] === 'leader')).toEqual([
      'leader-elected',
      'leader-lost',
      'leader-stepped-down',
    ]);
  });

  it("is what the CLI's stream reader keeps: every pool event type, and nothing else", () => {
    for (const type of Object.keys(POOL_EVENT_GROUPS)) expect(parseSseBlock(block(type))?.type, type).toBe(type);
    expect(parseSseBlock(block('pool-sample'))).toBeUndefined();
  });

  it('is what the live page listens for (embedded by scripts/embed-page.mjs)', () => {
    const m = /const POOL_EVENT_TYPES = (\[[^\]]*\]);/.exec(PAGE_HTML);
    expect(JSON.parse(m?.[1] ?? 'null')).toEqual(Object.keys(POOL_EVENT_GROUPS));
    expect(PAGE_HTML).toContain('for (const t of POOL_EVENT_TYPES)');
  });
});
