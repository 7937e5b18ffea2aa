import { spawnSync } from 'node:child_process';
import { WriteStream } from 'node:tty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourWanted, paint } from '../cli/colour.ts';
import type { CommandIO } from '../cli/command.ts';
import { elapsed, timed } from '../cli/progress.ts';
import { LocalPool } from './fixtures/local-pool.ts';

const ESC = '\x1b';
/** A progress line as `timed` writes it: the elapsed time in brackets, then the text. */
const PROGRESS = /^\[ *(\d+\.\ds|\d+m\d\ds|\d+h\d\dm)\] \S/;

function recordingIo(): { io: CommandIO; lines: string[] } {
  const lines: string[] = [];
  return { lines, io: { out: () => {}, progress: (l) => lines.push(l), stdin: process.stdin } };
}

describe('timed progress (cli/progress.ts)', () => {
  it('every line carries the time since the command began; the last one sums up', async () => {
    let t = 1_000;
    const { io, lines } = recordingIo();
    const run = timed('bootstrap', io, { now: () => t, paint: paint(false) });
    run.io.progress('created pool key');
    const result = await run.run(
      async () => {
        t += 2_340;
        run.io.progress('launched local-1');
        t += 61_000;
        return { launched: 1 };
      },
      (r) => `${r.launched} launched`,
    );
    expect(result).toEqual({ launched: 1 });
    expect(lines).toEqual([
      '[  0.0s] created pool key',
      '[  2.3s] launched local-1',
      '[ 1m03s] bootstrap done: 1 launched',
    ]);
  });

  it('a failure says when, and passes the error on for the CLI to print', async () => {
    let t = 0;
    const { io, lines } = recordingIo();
    const run = timed('terminate', io, { now: () => t, paint: paint(false) });
    const failing = run.run(async () => {
      t = 4_000;
      throw new Error('still running: local-2');
    }, String);
    await expect(failing).rejects.toThrow('still running: local-2');
    expect(lines).toEqual(['[  4.0s] terminate failed']);
  });

  it('elapsed: tenths under a minute, then minutes and seconds, then hours and minutes', () => {
    expect([0, 950, 59_940, 60_000, 125_000, 3_600_000, 3_723_000].map(elapsed)).toEqual([
      '0.0s',
      '0.9s',
      '59.9s',
      '1m00s',
      '2m05s',
      '1h00m',
      '1h02m',
    ]);
  });
});

describe('colour only where a person reads it', () => {
  const tty = {
    isTTY: true,
    hasColors: (count?: number, env?: object) => WriteStream.prototype.hasColors(count ?? 16, env),
  };

  it('a terminal gets colour; NO_COLOR, TERM=dumb, a pipe or a file get none', () => {
    expect(colourWanted(tty, { TERM: 'xterm-256color' })).toBe(true);
    expect(colourWanted(tty, { TERM: 'xterm-256color', NO_COLOR: '1' })).toBe(false);
    expect(colourWanted(tty, { TERM: 'dumb' })).toBe(false);
    expect(colourWanted({ isTTY: false }, { TERM: 'xterm-256color' })).toBe(false);
    expect(colourWanted({}, { TERM: 'xterm-256color' })).toBe(false);
  });

  it('painted text carries escape codes only when colour is on', () => {
    expect(paint(false).red('failed')).toBe('failed');
    expect(paint(true).red('failed')).toContain(ESC);
  });
});

describe('the built CLI: progress lines on stderr, no escape codes off a terminal', () => {
  let pool: LocalPool;
  beforeAll(async () => {
    pool = await LocalPool.create({ name: 'progress', agent: 'fake' });
  });
  afterAll(() => pool?.cleanup());

  it('bootstrap and terminate through pipes: timed lines and a summary, no colour', async () => {
    const boot = await pool.cli('bootstrap', '-c', pool.config, '--timeout', '30s');
    expect(boot.code, boot.stderr).toBe(0);
    const lines = boot.stderr.trimEnd().split('\n');
    expect(
      lines.every((l) => PROGRESS.test(l)),
      boot.stderr,
    ).toBe(true);
    expect(lines.at(-1)).toMatch(/bootstrap done: 3 launched, 3 running in pool progress, every node sees every node$/);

    const term = await pool.cli('terminate', '-c', pool.config, '--yes');
    expect(term.code, term.stderr).toBe(0);
    const endLines = term.stderr.trimEnd().split('\n');
    expect(
      endLines.every((l) => PROGRESS.test(l)),
      term.stderr,
    ).toBe(true);
    expect(endLines.at(-1)).toMatch(/terminate done: 3 instances of pool progress ended$/);
    for (const out of [boot.stdout, boot.stderr, term.stdout, term.stderr]) expect(out).not.toContain(ESC);
  });

  it.skipIf(!hasScript())('on a terminal (script(1) gives it a pty): colour, and none with NO_COLOR=1', () => {
    // The pool is empty again (the test above ended it): terminate still fences, sweeps and sums up.
    const inPty = (env: NodeJS.ProcessEnv) => {
      const cmd = [process.execPath, ...pool.command, 'terminate', '-c', pool.config, '--yes']
        .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
        .join(' ');
      const res = spawnSync('script', ['-qec', cmd, '/dev/null'], {
        // A CI runner sets CI (and maybe NODE_DISABLE_COLORS, FORCE_COLOR): Node then reports a
        // 2-colour terminal even on a pty, so the coloured case starts from an environment without them.
        env: { ...pool.env, TERM: 'xterm-256color', CI: undefined, NODE_DISABLE_COLORS: undefined, ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(res.status, res.stdout + res.stderr).toBe(0);
      return res.stdout;
    };
    const coloured = inPty({ NO_COLOR: undefined, FORCE_COLOR: undefined });
    expect(coloured).toMatch(new RegExp(`${ESC}\\[2m\\[ *\\d+\\.\\ds\\]${ESC}\\[22m `));
    expect(coloured).toContain(`${ESC}[32mterminate done: 0 instances of pool progress ended${ESC}[39m`);
    const plain = inPty({ NO_COLOR: '1' });
    expect(plain).toContain('terminate done: 0 instances of pool progress ended');
    expect(plain).not.toContain(ESC);
    // Under a CI runner's environment a pty still gets no colour (Node reads CI as 2 colours).
    expect(inPty({ CI: 'true', NO_COLOR: undefined, FORCE_COLOR: undefined })).not.toContain(ESC);
  });
});

function hasScript(): boolean {
  return spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
}
