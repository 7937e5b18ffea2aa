import '../../shared/polyfill.ts';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent, type AgentLog } from '../../agent/agent.ts';
import { addCounts } from '../../agent/membership/swim/counts.ts';
import type { InstanceRecord, LaunchRequest, RemoterBase } from '../../shared/remoter/types.ts';
import type { PoolEvent } from '../../shared/wire/cluster.ts';
import { windowDelay } from './lib/host-lag.ts';
import type {
  FakeRemoterSpec,
  HostMessage,
  HostReply,
  HostRequest,
  LaunchRecord,
  RawEvent,
  StartedAgent,
} from './lib/protocol.ts';

/**
 * Bench host: many in-process agents in one Node process, driven over IPC by the harness
 * (test/bench/lib/hosts.ts). Records every agent's raw events — the membership and election
 * cores' output before the EventHub coalesces it — so short-lived states are never missed.
 */

const quiet: AgentLog = { debug() {}, info() {}, warn() {}, error() {} };
/**
 * PP_BENCH_LOG=<regex>: agent log lines whose message matches go to stderr as JSON (with the
 * agent's index and the host's clock), to trace one mechanism in a pool run without every line.
 */
const logMatch = process.env.PP_BENCH_LOG ? new RegExp(process.env.PP_BENCH_LOG) : undefined;
function logFor(index: number): AgentLog {
  if (!logMatch) return quiet;
  const line = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    if (logMatch.test(msg))
      process.stderr.write(`${JSON.stringify({ t: Date.now(), agent: index, level, msg, ...fields })}\n`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
const agents: Agent[] = [];
const events: RawEvent[] = [];
const launches: LaunchRecord[] = [];
const started = Date.now();
const LAG_RESOLUTION_MS = 20;
const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
lag.enable();
let lagSince = performance.now();

/** A provider fake: lists a fixed number of running instances and records every launch. */
class FakeRemoter implements RemoterBase {
  readonly provider = 'bench-fake';
  #n = 0;
  constructor(
    readonly spec: FakeRemoterSpec,
    readonly index: number,
    readonly peerId: () => string,
  ) {}
  async launch(req: LaunchRequest): Promise<InstanceRecord[]> {
    launches.push({
      agent: this.index,
      peerId: this.peerId(),
      at: Date.now(),
      count: req.count,
      token: req.clientToken,
    });
    return Array.from({ length: req.count }, () => ({
      id: `launched-${this.index}-${++this.#n}`,
      state: 'pending' as const,
      launchedAt: Date.now(),
      tags: {},
    }));
  }
  async list(): Promise<InstanceRecord[]> {
    return this.spec.instances.map((id) => ({ id, state: 'running' as const, launchedAt: started, tags: {} }));
  }
  async terminate(): Promise<void> {}
}

function record(index: number, e: PoolEvent): void {
  if (!e.type.startsWith('member-') && !e.type.startsWith('leader-')) return;
  const ev = e as { type: string; peerId: string; at: number; term?: number };
  events.push({ agent: index, type: ev.type, peerId: ev.peerId, at: ev.at, ...(ev.term ? { term: ev.term } : {}) });
}

async function startOne(config: HostRequest & { op: 'start' }, i: number): Promise<StartedAgent> {
  const cfg = config.configs[i];
  if (!cfg) throw new Error(`no config ${i}`);
  const index = agents.length;
  let agent: Agent | undefined;
  const remoter = config.fake ? new FakeRemoter(config.fake, index, () => agent?.peerId ?? '') : undefined;
  agent = new Agent(cfg, { log: logFor(index), ...(remoter ? { remoter } : {}) });
  agents.push(agent);
  const hub = agent.events;
  const emit = hub.emit.bind(hub);
  hub.emit = (e: PoolEvent) => {
    record(index, e);
    emit(e);
  };
  const t0 = performance.now();
  await agent.start();
  return { peerId: agent.peerId, multiaddrs: agent.multiaddrs, startMs: Math.round(performance.now() - t0) };
}

async function handle(req: HostRequest): Promise<unknown> {
  switch (req.op) {
    case 'start':
      return Promise.all(req.configs.map((_, i) => startOne(req, i)));
    case 'events':
      return events.slice(req.from);
    case 'crash': {
      // agent.crash(): as peers see a kill -9 (sockets reset, address refuses, nothing more sent).
      const victims = agents.filter((a) => req.peerIds.includes(a.peerId));
      await Promise.all(victims.map((a) => a.crash()));
      return victims.length;
    }
    case 'launches':
      return launches;
    case 'scaling': {
      const agent = agents.find((a) => a.peerId === req.peerId);
      return agent?.scaler?.snapshot() ?? null;
    }
    case 'connections':
      return agents.map((a) => a.connectedPeers().length);
    case 'swim': // summed over this host's agents (swim/counts.ts)
      return agents.flatMap((a) => a.swimCounts ?? []).reduce(addCounts);
    case 'lag': {
      const now = performance.now();
      const out = windowDelay(lag, now - lagSince, LAG_RESOLUTION_MS);
      lag.reset();
      lagSince = now;
      return out;
    }
  }
}

process.on('message', (msg: HostMessage) => {
  handle(msg.req).then(
    (value) => process.send?.({ id: msg.id, ok: true, value } satisfies HostReply),
    (err: Error) => process.send?.({ id: msg.id, ok: false, error: err.message } satisfies HostReply),
  );
});
// The harness owns our lifetime: if it goes away, so do we (and every agent with us).
process.on('disconnect', () => process.exit(0));
process.on('unhandledRejection', () => undefined);
process.send?.({ id: 0, ok: true, value: 'ready' } satisfies HostReply);
