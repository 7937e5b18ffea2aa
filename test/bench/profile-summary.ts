/**
 * Sums a V8 CPU profile (.cpuprofile, as test/bench/idle-profile.ts writes) by function: self time
 * and total time (the function and what it called, counted once per sample however deep the
 * recursion), in ms per second of profile and % of busy (non-idle) samples; or an allocation
 * profile (.heapprofile, idle-profile.ts --alloc) by bytes allocated. Usage: HELP below.
 */
import { readFileSync } from 'node:fs';
import { benchArgs } from './lib/args.ts';

const HELP = `npx tsx test/bench/profile-summary.ts --file A.cpuprofile [--top 40] [--match RE]

Options:
  --file F     the profile (.cpuprofile, or .heapprofile for bytes allocated)
  --top K      functions listed by self and by total time (default 40)
  --match RE   list only functions whose "name file:line" matches RE
  -h, --help   this help`;

const values = benchArgs('profile-summary', HELP, {
  file: { type: 'string' },
  top: { type: 'string', default: '40' },
  match: { type: 'string' },
});

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const key = (nd: { callFrame: Node['callFrame'] }) => {
  const f = nd.callFrame;
  const file = f.url.split('/').pop() ?? '';
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
};
const re = values.match ? new RegExp(values.match) : null;
const list = (m: Map<string, number>, per: (v: number) => string) =>
  [...m]
    .filter(([k]) => !re || re.test(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(values.top))
    .map(([k, v]) => `${per(v)}  ${k}`);
const file = values.file ?? '';
if (file.endsWith('.heapprofile')) summarizeAllocations(file);
else summarizeCpu(file);

/**
 * An allocation profile (V8's sampling heap profiler, .heapprofile as idle-profile.ts --alloc writes
 * it, the samples of collected objects kept): bytes allocated by function, self and total, per
 * second of the window (read from the .json beside it) and % of all.
 */
function summarizeAllocations(path: string): void {
  interface HNode {
    callFrame: Node['callFrame'];
    selfSize: number;
    children: HNode[];
  }
  const head = (JSON.parse(readFileSync(path, 'utf8')) as { head: HNode }).head;
  let seconds = 1;
  try {
    seconds = JSON.parse(readFileSync(path.replace(/\.heapprofile$/, '.json'), 'utf8')).seconds;
  } catch {}
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  const walk = (nd: HNode, above: ReadonlySet<string>): number => {
    const k = key(nd);
    self.set(k, (self.get(k) ?? 0) + nd.selfSize);
    all += nd.selfSize;
    const path = new Set(above).add(k);
    let sum = nd.selfSize;
    for (const c of nd.children) sum += walk(c, path);
    // Counted once per stack however deep the recursion: only at its outermost frame.
    if (!above.has(k)) total.set(k, (total.get(k) ?? 0) + sum);
    return sum;
  };
  walk(head, new Set());
  const per = (v: number) =>
    `${(v / 1024 / seconds).toFixed(1).padStart(8)} KiB/s ${((100 * v) / all).toFixed(1).padStart(5)} %`;
  console.log(`${path}: ${seconds.toFixed(1)} s, ${(all / 1024 / seconds).toFixed(1)} KiB/s allocated (sampled)`);
  console.log('self:');
  for (const l of list(self, per)) console.log(l);
  console.log('total:');
  for (const l of list(total, per)) console.log(l);
}

/** A CPU profile: self and total time by function, in ms per second of profile and % of busy. */
function summarizeCpu(path: string): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: Node[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
  };
  const byId = new Map(profile.nodes.map((nd) => [nd.id, nd]));
  const parent = new Map<number, number>();
  for (const nd of profile.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    const nd = byId.get(id);
    if (!nd) return;
    const k = key(nd);
    if (nd.callFrame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    busy += dt;
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const a = byId.get(at);
      if (!a) break;
      const ak = key(a);
      if (seen.has(ak)) continue;
      seen.add(ak);
      total.set(ak, (total.get(ak) ?? 0) + dt);
    }
  });
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  const per = (ms: number) =>
    `${(ms / seconds).toFixed(2).padStart(7)} ms/s ${((100 * ms) / busy).toFixed(1).padStart(5)} %`;
  console.log(
    `${path}: ${seconds.toFixed(1)} s, busy ${(busy / seconds).toFixed(2)} ms/s, idle ${(idle / seconds).toFixed(1)} ms/s`,
  );
  console.log('self:');
  for (const l of list(self, per)) console.log(l);
  console.log('total:');
  for (const l of list(total, per)) console.log(l);
}
