/**
 * CLI start-up cost: what one `poolparty` call costs before it does anything (usage: HELP below).
 * Each command runs in its own process under /usr/bin/time -v, so the figures are taken outside
 * Node: wall time (elapsed) and max RSS (the kernel's peak resident set), plus user+system CPU.
 * `status --json` asks a monitor on a loopback port that was just bound and released, so the
 * connection is refused at once and the run measures start-up plus one failed fetch.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { freePort } from '../fixtures/sshd.ts';
import { benchArgs } from './lib/args.ts';

const HELP = `npx tsx test/bench/cli-startup.ts [--cli FILE] [--runs N]   what one poolparty call costs to start

Options:
  --cli FILE   the launcher to measure (default bin/poolparty.mjs, which runs dist/poolparty.mjs:
               build first with \`node scripts/build.mjs\`)
  --runs N     runs per command (default 5)
  -h, --help   this help

Runs --version, --help, status --help and status --json against a refused port, each in its own
process under /usr/bin/time -v. Prints one JSON object: { date, node, cli, runs, load, commands:
{ <name>: { exitCodes, wallMs, cpuMs, maxRssKb } } }, each figure { min, median, max } over the runs.`;

const values = benchArgs('cli-startup', HELP, {
  cli: { type: 'string', default: 'bin/poolparty.mjs' },
  runs: { type: 'string', default: '5' },
});
const cli = resolve(values.cli);
const runs = Number(values.runs);

interface Run {
  code: number;
  wallMs: number;
  cpuMs: number;
  maxRssKb: number;
}

/** `h:mm:ss` or `m:ss.cc` as /usr/bin/time prints "Elapsed (wall clock) time". */
function elapsedMs(text: string): number {
  const parts = text.split(':').map(Number);
  return Math.round(parts.reduce((total, p) => total * 60 + p, 0) * 1000);
}

function field(report: string, name: string): string {
  const line = report.split('\n').find((l) => l.trim().startsWith(name));
  if (!line) throw new Error(`/usr/bin/time printed no "${name}"`);
  return line.slice(line.lastIndexOf(': ') + 2).trim();
}

async function once(args: string[]): Promise<Run> {
  const child = spawn('/usr/bin/time', ['-v', process.execPath, cli, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  await new Promise<void>((done) => child.on('close', () => done()));
  const report = stderr.slice(stderr.lastIndexOf('\tCommand being timed:'));
  return {
    code: Number(field(report, 'Exit status')),
    wallMs: elapsedMs(field(report, 'Elapsed (wall clock) time')),
    cpuMs: Math.round(
      (Number(field(report, 'User time (seconds)')) + Number(field(report, 'System time (seconds)'))) * 1000,
    ),
    maxRssKb: Number(field(report, 'Maximum resident set size (kbytes)')),
  };
}

function spread(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] ?? 0, median: s[Math.floor(s.length / 2)] ?? 0, max: s[s.length - 1] ?? 0 };
}

const port = await freePort('127.0.0.1');
const commands: Record<string, string[]> = {
  '--version': ['--version'],
  '--help': ['--help'],
  'status --help': ['status', '--help'],
  'status --json (refused)': ['status', '--node', `http://127.0.0.1:${port}`, '--json'],
};

const results: Record<string, unknown> = {};
const loadBefore = loadavg()[0];
for (const [name, args] of Object.entries(commands)) {
  const samples: Run[] = [];
  for (let i = 0; i < runs; i++) samples.push(await once(args));
  results[name] = {
    exitCodes: [...new Set(samples.map((s) => s.code))],
    wallMs: spread(samples.map((s) => s.wallMs)),
    cpuMs: spread(samples.map((s) => s.cpuMs)),
    maxRssKb: spread(samples.map((s) => s.maxRssKb)),
  };
}
console.log(
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cli,
      runs,
      load: { before: loadBefore, after: loadavg()[0] },
      commands: results,
    },
    null,
    2,
  ),
);
