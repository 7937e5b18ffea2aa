/**
 * What one /metrics render costs, in process and without HTTP: the agent's registry (prom.ts and
 * pool-metrics.ts, default process metrics included) over a leader's view of --members members of
 * one cloud, each gossiping three metrics (the leader exports every member's: the largest render).
 *
 *   npx tsx test/bench/metrics-render.ts [--members 50] [--renders 200] [--warm 20]
 *
 * Run it under the agent's flags to see what ships (node $(AGENT_NODE_FLAGS) --import tsx ...).
 * Prints one JSON object: { members, renders, bytes, coldMs, renderMs, cpuMs } — coldMs the first
 * render (CPU), renderMs / cpuMs the mean wall / CPU time of a render after --warm ones.
 */

import { type CloudScalingView, registerPoolMetrics } from '../../agent/monitor/pool-metrics.ts';
import { createAgentMetrics } from '../../agent/monitor/prom.ts';
import type { ClusterView, MemberView } from '../../shared/wire/cluster.ts';
import { benchArgs } from './lib/args.ts';

const HELP = `metrics-render [--members 50] [--renders 200] [--warm 20]

  --members N   members in the leader's view (default 50)
  --renders R   renders timed (default 200)
  --warm W      renders before the timed ones (default 20)
  -h, --help    this help`;

const values = benchArgs('metrics-render', HELP, {
  members: { type: 'string', default: '50' },
  renders: { type: 'string', default: '200' },
  warm: { type: 'string', default: '20' },
});
const n = Number(values.members);
const renders = Number(values.renders);
const warm = Number(values.warm);
if (!(Number.isInteger(n) && n >= 1)) throw new Error('--members: expected a positive integer');
if (!(Number.isInteger(renders) && renders >= 1)) throw new Error('--renders: expected a positive integer');

const members: MemberView[] = Array.from({ length: n }, (_, i) => ({
  peerId: `12D3KooWbench${i}`,
  instanceId: `bench-${i}`,
  cloud: 'web',
  // A few suspects, so the by-state series are not all zero.
  state: i % 17 === 3 ? 'suspect' : 'alive',
  addrs: [`/ip4/10.0.${i >> 8}.${i & 255}/tcp/8643`],
  monitor: `http://10.0.${i >> 8}.${i & 255}:8642`,
  lastSeenMs: 400,
  startedAt: 1_700_000_000_000 + i,
  version: '0.1.0',
  metrics: { load: i / 10, cpu: 0.5, queue: i },
}));
const cluster: ClusterView = { pool: 'bench', self: members[0]?.peerId ?? '', leader: null, members };
const term = (text: string, threshold: number) => ({ text, threshold, value: 0.5 });
const scaling: Record<string, CloudScalingView> = {
  web: {
    bounds: { min: 1, max: 2 * n },
    instances: n,
    rules: {
      expand: { holds: false, sustain: { heldForMs: 0 }, terms: [term('avg(load) > 0.8', 0.8)] },
      contract: { holds: true, sustain: { heldForMs: 1000 }, terms: [term('avg(load) < 0.2', 0.2)] },
    },
  },
};

const metrics = createAgentMetrics({ membersByState: () => ({ alive: n, suspect: 0, dead: 0, left: 0 }) });
registerPoolMetrics(metrics.registry, {
  pool: 'bench',
  cloud: 'web',
  instanceId: 'bench-0',
  cluster: () => cluster,
  scaling: () => scaling,
  leads: () => true,
  subscribe: () => () => undefined,
});

const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
const c0 = process.cpuUsage();
let bytes = (await metrics.registry.metrics()).length;
const coldMs = cpuMs(process.cpuUsage(c0));
for (let i = 0; i < warm; i++) await metrics.registry.metrics();
const c1 = process.cpuUsage();
const t1 = performance.now();
for (let i = 0; i < renders; i++) bytes = (await metrics.registry.metrics()).length;
const wall = performance.now() - t1;
const cpu = cpuMs(process.cpuUsage(c1));
const round = (x: number) => Math.round(x * 1000) / 1000;
process.stdout.write(
  `${JSON.stringify({ members: n, renders, bytes, coldMs: round(coldMs), renderMs: round(wall / renders), cpuMs: round(cpu / renders) })}\n`,
);
// prom-client's default metrics keep an event-loop monitor running.
process.exit(0);
