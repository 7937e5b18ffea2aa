/**
 * Ed25519 checks and signatures per agent per second: N real agents in this process (default
 * tunables), every node:crypto verify and sign they make counted, those over a member record's
 * signed bytes (shared/wire/record-signature.ts) and over relayed load reports apart, while the
 * pool forms and over an idle window after it. Counts calls, not time (test/bench/ed25519-cost.ts
 * times one). Diagnostic, for an A/B of record signatures (issue 15, I4) and of reports bound to
 * their leader (issue 15). Starts N agents: run it under the pool lock.
 * Usage: HELP below.
 */
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { loadavg } from 'node:os';
import { benchArgs } from './lib/args.ts';

const HELP = `npx tsx test/bench/idle-verifies.ts [--n 10] [--settle 5] [--window 30]   Ed25519 calls per agent per second

Options:
  --n N         agents in this process, default tunables (default 10)
  --settle S    seconds idle after every agent sees all, before the window (default 5)
  --window S    idle window counted, seconds (default 30)
  -h, --help    this help

Prints one JSON line: load, converge time, and for the forming phase and the idle window the
verify and sign calls per agent per second, all, those over member records, and the checks of
relayed load reports (reportVerify; reportBound: over bytes bound to a leader; reportFailed: those
that did not verify).`;

const values = benchArgs('idle-verifies', HELP, {
  n: { type: 'string', default: '10' },
  settle: { type: 'string', default: '5' },
  window: { type: 'string', default: '30' },
});
const [n, settleS, windowS] = [Number(values.n), Number(values.settle), Number(values.window)];
if (![n, settleS, windowS].every((v) => Number.isInteger(v) && v > 0)) {
  process.stderr.write('idle-verifies: --n, --settle and --window take positive integers (see --help)\n');
  process.exit(2);
}

type Tally = {
  verify: number;
  sign: number;
  recordVerify: number;
  recordSign: number;
  reportVerify: number;
  reportBound: number;
  reportFailed: number;
};
const zero = (): Tally => ({
  verify: 0,
  sign: 0,
  recordVerify: 0,
  recordSign: 0,
  reportVerify: 0,
  reportBound: 0,
  reportFailed: 0,
});
let tally = zero();

/** A record's signed bytes open with cbor(['poolparty/record/2', …]): array(2), text(18), 'p'. */
const isRecord = (d: unknown) => d instanceof Uint8Array && d[0] === 0x82 && d[1] === 0x72 && d[2] === 0x70;
/**
 * A relayed load report's signed bytes: cbor([origin, …]) (array(5), then the origin as a text of
 * 24-255 bytes), or bound to a leader (issue 15: they open with this tag; reportBound). reportFailed:
 * those a check refused (a leader checks a report of unknown kind as bound first, then plain).
 */
const BOUND = Buffer.from('poolparty/report-for-leader/1');
const isBound = (d: Uint8Array) =>
  Buffer.from(d.buffer, d.byteOffset, d.byteLength).subarray(0, BOUND.length).equals(BOUND);
const isReport = (d: unknown) => d instanceof Uint8Array && ((d[0] === 0x85 && d[1] === 0x78) || isBound(d));

// Every check and signature goes through node:crypto (agent/p2p/ed25519-keys.ts): counted there.
const orig = { verify: crypto.verify, sign: crypto.sign };
crypto.verify = ((...a: Parameters<typeof crypto.verify>) => {
  tally.verify++;
  if (isRecord(a[1])) tally.recordVerify++;
  const ok = (orig.verify as (...x: unknown[]) => boolean)(...a);
  if (isReport(a[1])) {
    tally.reportVerify++;
    if (isBound(a[1] as Uint8Array)) tally.reportBound++;
    if (!ok) tally.reportFailed++;
  }
  return ok;
}) as typeof crypto.verify;
crypto.sign = ((...a: Parameters<typeof crypto.sign>) => {
  tally.sign++;
  if (isRecord(a[1])) tally.recordSign++;
  return (orig.sign as (...x: unknown[]) => Buffer)(...a);
}) as typeof crypto.sign;
syncBuiltinESMExports();

await import('../../shared/polyfill.ts');
const { Agent } = await import('../../agent/agent.ts');
const { defaultTunables } = await import('../../shared/config/tunables.ts');
const { quietLog, TestPool } = await import('../helpers/agents.ts');

const perAgentPerS = (t: Tally, s: number) =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Number((v / n / s).toFixed(3))]));
const load = loadavg()[0];
const pool = await TestPool.create();
try {
  const agents: InstanceType<typeof Agent>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const a = new Agent(pool.config(`a${i}`, {}, defaultTunables(1000)), { log: quietLog });
    await a.start();
    pool.agents.push(a);
    agents.push(a);
  }
  const alive = (a: InstanceType<typeof Agent>) => a.cluster().members.filter((m) => m.state === 'alive').length;
  for (let i = 0; i < 240 && !agents.every((a) => alive(a) === n); i++) await new Promise((r) => setTimeout(r, 500));
  const convergeS = (Date.now() - t0) / 1000;
  const forming = perAgentPerS(tally, convergeS);
  await new Promise((r) => setTimeout(r, settleS * 1000));
  tally = zero();
  await new Promise((r) => setTimeout(r, windowS * 1000));
  const idle = perAgentPerS(tally, windowS);
  const out = { n, load, loadAfter: loadavg()[0], convergeS, converged: agents.every((a) => alive(a) === n) };
  process.stdout.write(`${JSON.stringify({ ...out, forming, idle, windowS })}\n`);
} finally {
  await pool.cleanup();
}
