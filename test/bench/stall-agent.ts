import '../../shared/polyfill.ts';
import type { AgentLog } from '../../agent/agent.ts';
import type { PoolEvent } from '../../shared/wire/cluster.ts';
import { benchArgs } from './lib/args.ts';

/**
 * Bench-only daemon: the same Agent as agent/main.ts, one per process, plus two things a
 * benchmark needs and production must not have:
 * - SIGUSR2 blocks the event loop for --stall-ms (a busy wait), to test the stall guard;
 * - every raw membership/leader event (before coalescing) is printed as a JSON line
 *   `{"bench":"event",...}`, so a member that is dead for a few ms is still counted.
 * Nothing is printed while the pool is idle, so footprint figures are not skewed by logging.
 * The bench runs it built as the artifact is (test/bench/lib/build.ts), and it imports the agent
 * and its config parser as agent/main.ts does — after the arguments, the parser dynamically (the
 * artifact embeds it, so zod is garbage once the config is read) — so its memory is main.ts's.
 */

const HELP = `bench-agent --config FILE [--stall-ms MS]   one agent for the bench's process pools (lib/procpool.ts)

Options:
  --config FILE    the agent's config file, as agent/main.ts reads it
  --stall-ms MS    how long SIGUSR2 blocks the event loop (default 2000)
  -h, --help       this help

Prints every raw membership and leader event as a JSON line {"bench":"event",...} on stdout, and the
membership's failures as {"bench":"log",...}. Built by the bench (test/bench/lib/build.ts).`;

const values = benchArgs('bench-agent', HELP, {
  config: { type: 'string' },
  'stall-ms': { type: 'string', default: '2000' },
});
const out = (obj: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ bench: 'x', ...obj })}\n`);
/** Membership's failures (a join dial, a table pull): kept by the harness to say why a view stayed short. */
const FAILURES = new Set(['join-dial-failed', 'sync-failed', 'members-publish-failed', 'membership-core-error']);
/** PP_BENCH_LOG_ALL=1: every log line, not only failures (for a harness keeping each agent's log: procpool.ts logDir). */
const ALL = process.env.PP_BENCH_LOG_ALL === '1';
const failure = (msg: string, fields?: Record<string, unknown>) => {
  if (ALL || FAILURES.has(msg)) out({ bench: 'log', msg, at: Date.now(), ...fields });
};
const quiet: AgentLog = { debug: failure, info: failure, warn: failure, error: failure };

const [{ Agent }, { readAgentConfig }] = await Promise.all([
  import('../../agent/agent.ts'),
  import('../../agent/config.ts'),
]);
const config = await readAgentConfig(values.config ?? '');
const stallMs = Number(values['stall-ms']);
const agent = new Agent(config, { log: quiet });
const hub = agent.events;
const emit = hub.emit.bind(hub);
hub.emit = (e: PoolEvent) => {
  if (e.type.startsWith('member-') || e.type.startsWith('leader-')) {
    const ev = e as { type: string; peerId: string; at: number; term?: number };
    out({ bench: 'event', type: ev.type, peerId: ev.peerId, at: ev.at, term: ev.term });
  }
  emit(e);
};

process.on('SIGUSR2', () => {
  const from = Date.now();
  // Deliberately synchronous: nothing else in this process runs until it returns.
  while (Date.now() - from < stallMs) {
    /* busy */
  }
  out({ bench: 'stalled', from, to: Date.now() });
});
process.on('SIGTERM', () => {
  agent.stop({ leave: true }).finally(() => process.exit(0));
});
process.on('unhandledRejection', () => undefined);

await agent.start();
out({ bench: 'started', peerId: agent.peerId, multiaddrs: agent.multiaddrs, monitor: agent.monitorUrl });
