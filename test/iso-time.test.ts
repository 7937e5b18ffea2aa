import { describe, expect, it } from 'vitest';
import { isoTime } from '../shared/iso-time.ts';
import { seededRandom } from '../shared/seeded-random.ts';

describe('isoTime', () => {
  it("matches Date's toISOString across years 0-9999, at day, month, leap-year and era edges", () => {
    const edges = [0, -1, 1, 86_399_999, 86_400_000, 951_782_400_000, 951_868_799_999, 4_102_444_799_999];
    const year = (y: number, m = 0, d = 1) => Date.UTC(y, m, d);
    edges.push(
      year(0),
      year(1600, 1, 29),
      year(1900, 2, 1) - 1,
      year(2000, 1, 29),
      year(2100, 2, 1) - 1,
      year(9999, 11, 31),
    );
    const random = seededRandom(13);
    for (let i = 0; i < 20_000; i++) edges.push(Math.floor((random() * 9_998 - 1_969) * 31_556_952_000));
    for (const t of edges) expect(isoTime(new Date(t)), String(t)).toBe(new Date(t).toISOString());
  });

  it('refuses an invalid date as toISOString does', () => {
    expect(() => isoTime(new Date(Number.NaN))).toThrow('Invalid time value');
  });
});
