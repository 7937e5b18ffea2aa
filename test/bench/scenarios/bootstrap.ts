import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDist } from '../../../scripts/build.mjs';
import { bootTimes, sampleLoad } from '../lib/boot-progress.ts';
import type { BenchContext, ScenarioResult } from '../lib/context.ts';
import { machine } from '../lib/context.ts';
import { LoopbackBlock } from '../lib/loopback.ts';
import { atExit, rates, sampleProc, sleep, track } from '../lib/procs.ts';
import { summarize } from '../lib/stats.ts';

/**
 * `poolparty bootstrap` of a local cloud with min = n, as a newcomer runs it: the CLI launches n
 * detached agent processes (one per process, each on its own 127.A.B.x, monitor :8642), waits
 * until every one reports every other alive, and prints the monitors. Then every monitor is asked
 * GET /cluster and must answer with n alive members. `poolparty terminate` ends the pool; any
 * agent still running after it (found by its command line, which holds this run's unique state
 * dir) is SIGKILLed, also when the harness is interrupted.
 *
 * The CLI and the agent are bundled from the current source into bench-results/build/cli (the
 * same esbuild options as `npm run build`), so a dist/ rebuilt by someone else mid-run is not used.
 */

/** How long `poolparty bootstrap` may wait for the pool (s). */
const BOOT_TIMEOUT_S = 600;

/** Lines of each agent's log kept when a bootstrap fails. */
const LOG_TAIL = 400;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = track(spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Pids whose command line contains `needle` (this run's unique state dir). */
function pidsWith(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(needle)) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

function killPids(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Each agent's last LOG_TAIL log lines, copied from `stateDir` into `dest`; `dest`, or null if none. */
async function keepAgentLogs(stateDir: string, dest: string): Promise<string | null> {
  const local = join(stateDir, 'local');
  const ids = await readdir(local).catch(() => [] as string[]);
  let kept = 0;
  for (const id of ids) {
    const text = await readFile(join(local, id, 'agent.log'), 'utf8').catch(() => null);
    if (text === null) continue;
    await mkdir(dest, { recursive: true });
    await writeFile(join(dest, `${id}.log`), `${text.trimEnd().split('\n').slice(-LOG_TAIL).join('\n')}\n`);
    kept++;
  }
  return kept > 0 ? dest : null;
}

async function buildCli(root: string): Promise<{ cli: string; agent: string }> {
  const outdir = join(root, 'bench-results', 'build', 'cli');
  // Built as `npm run build` builds dist/, which local pools run.
  await buildDist({
    entries: { poolparty: join(root, 'cli/main.ts'), 'poolparty-agent': join(root, 'agent/main.ts') },
    outdir,
  });
  return { cli: join(outdir, 'poolparty.mjs'), agent: join(outdir, 'poolparty-agent.mjs') };
}

interface Answer {
  monitor: string;
  ok: boolean;
  alive?: number;
  error?: string;
}

async function askMonitor(monitor: string): Promise<Answer> {
  try {
    const res = await fetch(`${monitor}/cluster`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return { monitor, ok: false, error: `HTTP ${res.status}` };
    const view = (await res.json()) as { members: Array<{ state: string }> };
    return { monitor, ok: true, alive: view.members.filter((m) => m.state === 'alive').length };
  } catch (err) {
    return { monitor, ok: false, error: (err as Error).message };
  }
}

export async function bootstrapScenario(ctx: BenchContext, n: number): Promise<ScenarioResult> {
  const dir = join(ctx.dir, `bootstrap-${n}`);
  const stateDir = join(dir, 'state');
  await mkdir(dir, { recursive: true });
  const first = new LoopbackBlock([ctx.loopback]).next();
  const config = join(dir, 'clouds.ts');
  await writeFile(
    config,
    `import { definePool, local } from 'poolparty';
export default definePool({
  name: 'bench-bootstrap',
  clouds: { local: { instances: { min: ${n}, max: ${n} }, using: local({ firstAddress: '${first}' }) } },
});
`,
  );
  const { cli, agent } = await buildCli(ctx.root);
  const { POOLPARTY_AGENT_BIN: _ignored, ...rest } = process.env;
  const env = { ...rest, POOLPARTY_AGENT_BIN: agent };
  const unhook = atExit(() => killPids(pidsWith(stateDir)));
  // The machine is shared: the load beside the figures says what they are worth.
  const load = sampleLoad();
  let boot: Run | null = null;
  let answers: Answer[] = [];
  let footprint: { cpuPct: number[]; rssMb: number[] } | null = null;
  let terminated: Run | null = null;
  let error: string | undefined;
  try {
    // The target is that it succeeds, not how fast: fifty Node processes importing libp2p on two
    // cores shared with other work took over 300 s just to start here (2026-12-05).
    boot = await run(
      [cli, 'bootstrap', '-c', config, '--state-dir', stateDir, '--timeout', `${BOOT_TIMEOUT_S}s`, '--json'],
      env,
      (BOOT_TIMEOUT_S + 60) * 1000,
    );
    ctx.log('bootstrap', {
      n,
      code: boot.code,
      ms: boot.ms,
      ...bootTimes(boot.stderr),
      stderrTail: boot.stderr.split('\n').slice(-6),
    });
    // A failed bootstrap prints an error object under --json, without `monitors`.
    let monitors: string[] = [];
    try {
      monitors = (JSON.parse(boot.stdout) as { monitors?: string[] }).monitors ?? [];
    } catch {
      // no JSON at all: the error below quotes stderr's tail
    }
    if (boot.code !== 0)
      error = `bootstrap exited ${boot.code}: ${boot.stderr.split('\n').filter(Boolean).slice(-3).join(' | ')}`;
    answers = await Promise.all(monitors.map(askMonitor));
    // What the 50 agents cost once up: CPU and VmRSS per agent process over 10 s.
    const pids = pidsWith(`${stateDir}/local/`);
    const a = pids.map(sampleProc);
    await sleep(10_000);
    const b = pids.map(sampleProc);
    footprint = { cpuPct: [], rssMb: [] };
    pids.forEach((_, i) => {
      const x = a[i];
      const y = b[i];
      if (!x || !y) return;
      footprint?.cpuPct.push(rates(x, y).cpuPct);
      footprint?.rssMb.push(y.rssBytes / 2 ** 20);
    });
  } catch (err) {
    error = (err as Error).message;
  } finally {
    terminated = await run([cli, 'terminate', '-c', config, '--state-dir', stateDir, '--yes', '--json'], env, 180_000);
    const left = pidsWith(stateDir);
    killPids(left);
    unhook();
    ctx.log('bootstrap-terminated', { code: terminated.code, ms: terminated.ms, killedAfter: left.length });
  }
  const loadDuringBoot = load.stop();
  const answered = answers.filter((x) => x.ok);
  const allAlive = answered.filter((x) => x.alive === n).length;
  const ok = boot?.code === 0 && answered.length === n && allAlive === n;
  // The scratch dir goes with the run: a failed bootstrap's agent logs are the only account of it.
  const keptLogs = ok
    ? null
    : await keepAgentLogs(stateDir, join(ctx.root, 'bench-results', `bootstrap-${n}-${Date.now()}`));
  return {
    scenario: 'bootstrap',
    parameters: { n, mode: 'process (local remoter)', command: `poolparty bootstrap --timeout ${BOOT_TIMEOUT_S}s` },
    ...summarize(boot ? [boot.ms] : []),
    unit: 'ms',
    target: 'succeeds; every monitor answers',
    machine: machine(),
    serf: null,
    ratio: null,
    detail: {
      met: ok,
      exitCode: boot?.code ?? null,
      // Until the last agent was launched, then until every agent saw every other (s, from the CLI's start).
      ...(boot ? bootTimes(boot.stderr) : {}),
      load1: loadDuringBoot,
      monitorsListed: answers.length,
      monitorsAnswered: answered.length,
      monitorsSeeingAllAlive: allAlive,
      aliveSeen: summarize(answered.map((x) => x.alive ?? 0)),
      failures: answers.filter((x) => !x.ok || x.alive !== n).slice(0, 10),
      cpuPctPerAgent: footprint && summarize(footprint.cpuPct, 2),
      rssMbPerAgent: footprint && summarize(footprint.rssMb, 1),
      terminate: { code: terminated?.code ?? null, ms: terminated?.ms ?? null },
      ...(keptLogs ? { keptLogs } : {}),
    },
    ...(error ? { error } : ok ? {} : { error: 'bootstrap did not bring up every monitor with all members alive' }),
  };
}
