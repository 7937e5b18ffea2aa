import { describe, expect, it } from 'vitest';
import { MAX_GATE_MS, parseUpgradeRequest } from '../shared/upgrade/protocol.ts';

/** The activate request carries the rollout's gate; what a member accepts of it (bounded, whole ms). */
const sha = 'a'.repeat(64);

describe("an activate request's gate", () => {
  it('is carried when whole and within a day, and absent from older leaders', () => {
    expect(parseUpgradeRequest({ type: 'activate', sha256: sha, gateMs: 10_000 })).toEqual({
      type: 'activate',
      sha256: sha,
      gateMs: 10_000,
    });
    expect(parseUpgradeRequest({ type: 'activate', sha256: sha })).toEqual({ type: 'activate', sha256: sha });
  });

  it.each([0, -1, 1.5, MAX_GATE_MS + 1, 1e308, '10s', null])('is refused in one line: %s', (gateMs) => {
    expect(parseUpgradeRequest({ type: 'activate', sha256: sha, gateMs })).toBe(
      `gateMs: expected whole milliseconds from 1 to ${MAX_GATE_MS}`,
    );
  });
});
