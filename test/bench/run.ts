import '../../shared/polyfill.ts';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildChildren } from './lib/build.ts';
import type { BenchContext, ScenarioResult } from './lib/context.ts';
import { machine } from './lib/context.ts';
import { LoopbackBlock } from './lib/loopback.ts';
import { installCleanup, killAll, liveChildren } from './lib/procs.ts';
import { quietMachine } from './lib/quiet.ts';
import { SerfPool } from './lib/serf.ts';
import { PLAN, type Step } from './plan.ts';

/** Longest wait for a quiet machine before each scenario (ms): full run, and --quick (CI). */
const QUIET_WAIT_MS = 60_000;
const QUIET_WAIT_QUICK_MS = 10_000;

const HELP = `npm run bench [-- options]   benchmarks of PoolParty beside Serf (see BENCHMARKS.md)

Options:
  --quick            every scenario once at small N, no bootstrap (CI: < 3 min, no timing assertions)
  --only LIST        comma-separated steps: join-convergence, failure-detection, leader-failover,
                     scale-reaction, process-mode (footprint, stall, kill -9), idle-cost (wire
                     bytes from iptables, CPU and RSS from /proc, convergence and kill -9, beside
                     Serf: N=10 and 50 one agent per process, N=200 in-process), largest-pool,
                     bootstrap-50 (poolparty bootstrap of a 50-agent local cloud; full run only)
  --n LIST           only the steps whose N is in this comma-separated list (e.g. --only idle-cost --n 50)
  --per-host N       in-process agents per host process (default 50)
  --no-serf          skip the Serf side (also skipped when the serf binary is missing)
  --cpu-prof         write V8 CPU profiles of every child to bench-results/profiles/
  --out FILE         results file (default bench-results/results.json)
  -h, --help         this help

Prints one JSON object per scenario on stdout; progress goes to stderr as JSON lines.
Wire bytes need root and iptables (an accounting chain on INPUT -i lo, removed on every exit);
without them those figures are null and the run goes on.`;

function parse() {
  return parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      n: { type: 'string' },
      'per-host': { type: 'string', default: '50' },
      'no-serf': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results/results.json' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }).values;
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message} (see --help)\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const perHost = Number(args['per-host']);
  if (!Number.isInteger(perHost) || perHost < 1) {
    process.stderr.write(`bench: --per-host must be a positive integer, got ${args['per-host']}\n`);
    return 2;
  }
  const root = resolve(import.meta.dirname, '../..');
  const results = resolve(root, 'bench-results');
  const dir = await mkdtemp(join(tmpdir(), 'poolparty-bench-'));
  installCleanup(() => void rm(dir, { recursive: true, force: true }));
  const log = (msg: string, fields: Record<string, unknown> = {}) =>
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);

  const steps = PLAN(args.quick);
  const only = args.only ? new Set(args.only.split(',').map((s) => s.trim())) : null;
  if (only) {
    const known = new Set(steps.map((s) => s.scenario));
    const unknown = [...only].filter((s) => !known.has(s));
    if (unknown.length) {
      process.stderr.write(`bench: unknown scenario ${unknown.join(', ')} (known: ${[...known].join(', ')})\n`);
      return 2;
    }
  }
  const serf = !args['no-serf'] && (await SerfPool.available());
  if (!serf && !args['no-serf']) log('serf-missing', { hint: 'apt-get install -y serf' });

  const nodeFlags = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(results, 'profiles')}`] : [];
  await mkdir(results, { recursive: true });
  const ctx: BenchContext = {
    root,
    dir,
    build: await buildChildren(root, join(results, 'build')),
    loopback: new LoopbackBlock(),
    quick: args.quick,
    perHost,
    serf,
    nodeFlags,
    log,
  };
  const started = Date.now();
  log('bench-start', { quick: args.quick, serf, perHost, machine: machine() });
  const out: ScenarioResult[] = [];
  let failed = 0;
  const sizes = args.n ? new Set(args.n.split(',').map((s) => Number(s.trim()))) : null;
  const selected = steps.filter(
    (s: Step) => (!only || only.has(s.scenario)) && (!sizes || sizes.has(s.parameters.n as number)),
  );
  for (const step of selected) {
    const quiet = await quietMachine(args.quick ? QUIET_WAIT_QUICK_MS : QUIET_WAIT_MS);
    log('machine-quiet', { scenario: step.scenario, parameters: step.parameters, ...quiet });
    const t = Date.now();
    try {
      const rows = [await step.run(ctx)].flat();
      for (const r of rows) {
        r.startBusy = quiet.busy;
        // A scenario that could not measure (a pool that never formed) is a failure too: counted,
        // an in-process pool that formed no membership went unnoticed for a whole session.
        if ((r as { error?: string }).error) failed++;
        out.push(r);
        process.stdout.write(`${JSON.stringify(r)}\n`);
      }
    } catch (err) {
      failed++;
      const r = {
        scenario: step.scenario,
        parameters: step.parameters,
        startBusy: quiet.busy,
        error: (err as Error).message,
      };
      out.push(r as ScenarioResult);
      process.stdout.write(`${JSON.stringify(r)}\n`);
    }
    log('scenario-done', { scenario: step.scenario, parameters: step.parameters, s: (Date.now() - t) / 1000 });
    // A scenario must leave nothing running behind it.
    if (liveChildren() > 0) killAll();
  }
  const file = resolve(root, args.out);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), quick: args.quick, totalS: (Date.now() - started) / 1000, results: out }, null, 2)}\n`,
  );
  log('bench-done', { totalS: (Date.now() - started) / 1000, file, failed });
  killAll();
  await rm(dir, { recursive: true, force: true });
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.message}\n`);
    killAll();
    process.exit(1);
  },
);
