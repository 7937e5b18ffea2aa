import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every bench script that takes options answers --help with its usage on stdout (exit 0) and an
 * unknown option with a pointer to --help on stderr (exit 2), before it starts anything: no agent,
 * pool or build is made (each run ends in the time tsx needs to load the script).
 */
const SCRIPTS = [
  ['run.ts', 'npm run bench'],
  ['cli-startup.ts', 'cli-startup.ts'],
  ['idle-flows.ts', 'idle-flows.ts'],
  ['idle-verifies.ts', 'idle-verifies.ts'],
  ['stall-agent.ts', 'bench-agent'],
  ['upgrade-leadership.ts', 'upgrade-leadership.ts'],
  ['pool-key-cipher.ts', 'pool-key-cipher.ts'],
  ['metrics-render.ts', 'metrics-render'],
  ['metrics-scrape.ts', 'metrics-scrape'],
  ['accept-rate.ts', 'accept-rate'],
  ['ed25519-cost.ts', 'ed25519-cost.ts'],
] as const;

function bench(script: string, ...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', resolve('test/bench', script), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('bench scripts print their usage', () => {
  it.each(SCRIPTS)('%s --help: usage on stdout, exit 0', (script, first) => {
    const r = bench(script, '--help');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain(first);
    expect(r.stdout).toContain('-h, --help');
  });

  it('-h is --help', () => {
    const r = bench('upgrade-leadership.ts', '-h');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain('upgrade-leadership.ts');
  });

  it.each(SCRIPTS)('%s --bogus: error naming --help on stderr, exit 2', (script) => {
    const r = bench(script, '--bogus');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bogus.*see --help/);
  });
});
