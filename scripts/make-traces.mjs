// Writes the example metric traces of `poolparty simulate` to examples/traces/ (deterministic:
// the same bytes every run, so the tests' expected outcomes stay true):
//   daily-cycle.csv   a day of `load` from three members: quiet night, busy afternoon (CSV, member column)
//   spike.csv         40 minutes of `load`, a six-minute spike in the middle (CSV, one value for all members)
//   flapping.jsonl    30 minutes of `load` swinging across both thresholds faster than the rules' `for` (JSON lines)
// Usage: node scripts/make-traces.mjs [DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'examples/traces';
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
const round = (v) => Math.round(v * 1000) / 1000;

/** A fixed pseudo-random sequence (mulberry32) for noise that never changes between runs. */
function noise(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

function daily() {
  const start = Date.parse('2024-05-06T00:00:00Z');
  const members = [
    ['web-1', 0.03],
    ['web-2', -0.02],
    ['web-3', 0],
  ];
  const rand = noise(7);
  const lines = ['time,member,metric,value'];
  for (let t = start; t <= start + 24 * 3_600_000; t += 5 * 60_000) {
    const hour = (t - start) / 3_600_000;
    // Busy from about 07:00 to 21:00, peaking at 14:00; a quiet floor at night.
    const day = hour > 7 && hour < 21 ? Math.sin((Math.PI * (hour - 7)) / 14) ** 1.5 : 0;
    for (const [member, offset] of members) {
      lines.push(`${iso(t)},${member},load,${round(Math.max(0, 0.15 + 0.7 * day + offset + 0.06 * rand()))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function spike() {
  const start = Date.parse('2024-05-06T12:00:00Z');
  const rand = noise(11);
  const lines = ['time,metric,value'];
  for (let t = start; t <= start + 40 * 60_000; t += 15_000) {
    const minute = (t - start) / 60_000;
    const high = minute >= 10 && minute < 16;
    lines.push(`${iso(t)},load,${round((high ? 0.95 : 0.22) + 0.04 * rand())}`);
  }
  return `${lines.join('\n')}\n`;
}

function flapping() {
  const start = Date.parse('2024-05-06T09:00:00Z');
  const lines = [];
  for (let t = start; t <= start + 30 * 60_000; t += 10_000) {
    // Above the expand threshold for 40 s, below the contract threshold for 40 s, and again.
    const up = Math.floor((t - start) / 40_000) % 2 === 0;
    lines.push(JSON.stringify({ time: iso(t), metric: 'load', value: up ? 0.85 : 0.15 }));
  }
  return `${lines.join('\n')}\n`;
}

mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'daily-cycle.csv'), daily());
writeFileSync(join(dir, 'spike.csv'), spike());
writeFileSync(join(dir, 'flapping.jsonl'), flapping());
console.log(`wrote daily-cycle.csv, spike.csv and flapping.jsonl to ${dir}`);
