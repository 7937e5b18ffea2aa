/**
 * Deterministic discrete-event simulation of the SWIM membership core (agent/membership/swim) at
 * pool scale: one SwimCore per node, a virtual clock and a priority queue, no real timers.
 *
 * Network model:
 * - Probe messages (`send` effects) arrive after a uniform latency and are lost with `--loss`.
 *   A send to a killed node is answered, one round trip later, by an `unreachable{refused}` input
 *   (the dial is refused: kill -9 leaves nothing listening).
 * - Updates (`broadcast` effects: dead, left, a member's own alive) are flooded gossipsub-like over
 *   a fixed random mesh of average degree D = 6 (each node links to 3 random others, links are
 *   symmetric): a node forwards an update the first time it sees it to every mesh peer but the one
 *   it came from; each hop has its own latency and loss; duplicates are counted as received bytes
 *   and dropped.
 * - Targeted updates (`tell` effects: a suspicion to the suspect and its observers, a refutation
 *   to the observers and accusers) travel like probes: one message per recipient, latency and
 *   loss, no relay. The core re-sends them itself while they hold (`tellRetransmits`).
 * - Anti-entropy (`sync` effects), in rounds over a stream (no loss): the initiator sends its
 *   summary (digest.ts: one hash per id bucket); the partner answers with its entries in the
 *   buckets that differ; the initiator merges them and sends its own entries of those buckets.
 * - A stalled node processes nothing for 2 s; everything addressed to it waits, in order.
 * - A late node's loop turns every --late-ms on average for --late-for s: its timers and reads
 *   wait for the next turn, timers first (simulate/late.ts).
 *
 * Byte estimates and the idle and churn windows they are counted in: simulate/traffic.ts. The
 * simulation is simulate/simulation.ts; this file is its command line.
 *
 * Run: npm run simulate:membership -- --n 1000 --seconds 60 --kill 5 --stall 5 --join 5
 */
import { pathToFileURL } from 'node:url';
import type { SwimConfig } from '../agent/membership/swim/config.ts';
import { simulate } from './simulate/simulation.ts';

// test/swim-sim.test.ts imports the simulation from here.
export { type SimOptions, simulate } from './simulate/simulation.ts';

const HELP = `simulate-membership: deterministic simulation of the SWIM membership core.

Options (defaults in brackets):
  --n N            pool size [1000]
  --seconds S      simulated seconds [60]
  --loss P         per-message loss probability [0.01]
  --latency A-B    one-way latency, uniform, ms [5-50]
  --seed X         PRNG seed [1]
  --kill K         nodes killed -9 (refused on dial) during the fault window [5]
  --stall S        nodes whose event loop stalls for 2 s during the fault window [5]
  --join J         nodes joining during the fault window [5]
  --silent H       nodes that hang for good (silence, no refusal) during the fault window [0]
  --late L         nodes whose event loop runs late (timers and reads wait for its next turn,
                   every --late-ms on average) for --late-for seconds from a time in the fault
                   window [0]; --late-ms MS [800], --late-for S [20]
  --unannounced    joiners' own announcements reach nobody (a startup storm): only joins and
                   anti-entropy spread them
  --probe-interval MS, --probe-timeout MS, --indirect-checks K, --tell-retransmits R,
  --follow-up-interval MS
                   override the core's defaults (agent/membership/swim/config.ts)
  --json           one compact JSON line (default: indented JSON)
  --help           this text
Faults happen in [T/3, T/2]; bytes are reported for the idle window [T/12, T/3) and the churn
window [T/3, T/2 + 10 s).`;

const TUNABLE = {
  '--probe-interval': 'probeInterval',
  '--probe-timeout': 'probeTimeout',
  '--indirect-checks': 'indirectChecks',
  '--tell-retransmits': 'tellRetransmits',
  '--follow-up-interval': 'followUpInterval',
} as const;

function overrides(args: Map<string, string>, num: (k: string, d: number) => number): Partial<SwimConfig> {
  const out: Partial<SwimConfig> = {};
  for (const [flag, key] of Object.entries(TUNABLE)) if (args.has(flag)) out[key] = num(flag, 0);
  return out;
}

function main(argv: string[]): void {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '--json' || a === '--unannounced') args.set(a, '1');
    else if (a.startsWith('--')) args.set(a, argv[++i] ?? '');
  }
  if (args.has('--help')) {
    console.log(HELP);
    return;
  }
  const num = (k: string, d: number): number => {
    const v = args.get(k);
    const n = v === undefined ? d : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${k} wants a non-negative number, got ${v}`);
    return n;
  };
  const [lo, hi] = (args.get('--latency') ?? '5-50').split('-').map(Number);
  const report = simulate({
    n: num('--n', 1000),
    seconds: num('--seconds', 60),
    loss: num('--loss', 0.01),
    latency: [lo ?? 5, hi ?? lo ?? 50],
    seed: num('--seed', 1),
    kill: num('--kill', 5),
    stall: num('--stall', 5),
    join: num('--join', 5),
    silent: num('--silent', 0),
    late: num('--late', 0),
    lateMs: num('--late-ms', 800),
    lateSeconds: num('--late-for', 20),
    unannounced: args.has('--unannounced'),
    config: overrides(args, num),
  });
  console.log(args.has('--json') ? JSON.stringify(report) : JSON.stringify(report, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
