import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readDoc, tunablesTable, withTable } from '../scripts/tunables-table.ts';

describe("README's tunables table is generated from the schema", () => {
  it('README holds exactly what scripts/tunables-table.ts makes of shared/config/tunables.ts', () => {
    const readme = readFileSync('README.md', 'utf8');
    // Regenerate with: npx tsx scripts/tunables-table.ts --write
    expect(withTable(readme, tunablesTable())).toBe(readme);
    for (const key of ['applyTimeout', 'maxBundleBytes', 'maxUnavailable', 'heartbeatInterval'])
      expect(tunablesTable()).toContain(`| \`${key}\` |`);
  });

  it('a field whose doc names no unit or default is refused, not left out', () => {
    expect(readDoc('x', 'How often things happen (ms). Default 5.')).toEqual({
      name: 'x',
      what: 'How often things happen',
      unit: 'ms',
      default: '5',
    });
    expect(() => readDoc('x', 'How often things happen. Default 5.')).toThrow(/must name its unit/);
    expect(() => readDoc('x', 'How often things happen (ms).')).toThrow(/must name its unit and say 'Default/);
  });
});
