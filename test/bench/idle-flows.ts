/**
 * Where an idle pool's packets come from: N real agents in this process (default tunables), and a
 * count of every yamux frame they send, by kind (data, window update) and stream protocol, plus
 * every socket write (≈ one TCP segment with Nagle off) over an idle window. Diagnostic only; the
 * figures that count are the bench's (measured outside the agents). Usage: HELP below.
 */
import '../../shared/polyfill.ts';
import { Socket } from 'node:net';
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream';
import { Agent } from '../../agent/agent.ts';
import { defaultTunables } from '../../shared/config/tunables.ts';
import { quietLog, TestPool } from '../helpers/agents.ts';
import { benchArgs } from './lib/args.ts';

const HELP = `npx tsx test/bench/idle-flows.ts [--n 10] [--window 20]   where an idle pool's packets come from

Options:
  --n N         agents in this process, default tunables (default 10)
  --window S    idle window counted, seconds (default 20)
  -h, --help    this help

Counts every yamux frame the agents send (by kind and stream protocol) and every socket write over
the window, and prints them as JSON. Diagnostic only: the bench's figures are taken outside the agents.`;

const values = benchArgs('idle-flows', HELP, {
  n: { type: 'string', default: '10' },
  window: { type: 'string', default: '20' },
});
const n = Number(values.n);
const windowS = Number(values.window);

interface Count {
  frames: number;
  bytes: number;
}
const counts = new Map<string, Count>();
let counting = false;
function add(key: string, bytes: number): void {
  if (!counting) return;
  const c = counts.get(key) ?? { frames: 0, bytes: 0 };
  c.frames++;
  c.bytes += bytes;
  counts.set(key, c);
}

type Patched = { sendFrame: (h: { type: number; length: number }, d?: unknown) => boolean; protocol?: string };
const ctor = YamuxStream as unknown as { prototype: object };
// Each stream gets its own sendFrame (bound to the muxer) at construction: wrap it on first use.
const origSendData = (ctor.prototype as { sendData: (buf: unknown) => unknown }).sendData;
const origWU = (ctor.prototype as { sendWindowUpdate: () => void }).sendWindowUpdate;
function wrap(s: Patched): void {
  if ((s as { __wrapped?: boolean }).__wrapped) return;
  (s as { __wrapped?: boolean }).__wrapped = true;
  const send = s.sendFrame;
  s.sendFrame = (h, d) => {
    add(
      `${h.type === 0 ? 'data' : h.type === 1 ? 'window-update' : `type-${h.type}`} ${s.protocol || '(negotiating)'}`,
      12 + (h.type === 0 ? h.length : 0),
    );
    return send(h, d);
  };
}
Object.assign(ctor.prototype, {
  sendData(this: Patched, buf: unknown) {
    wrap(this);
    return origSendData.call(this, buf);
  },
  sendWindowUpdate(this: Patched) {
    wrap(this);
    return origWU.call(this);
  },
});

interface Rpc {
  messages?: Array<{ topic?: string; data?: Uint8Array }>;
  subscriptions?: unknown[];
  control?: { ihave?: unknown[]; iwant?: unknown[]; graft?: unknown[]; prune?: unknown[]; idontwant?: unknown[] };
}
// Not exported by the package: its file is the same module instance gossipsub's index loads.
const { GossipSub } = await import(
  new URL('../../node_modules/@libp2p/gossipsub/dist/src/gossipsub.js', import.meta.url).href
);
const gsProto = GossipSub.prototype as unknown as { sendRpc: (id: string, rpc: Rpc) => boolean };
const origSendRpc = gsProto.sendRpc;
gsProto.sendRpc = function (this: unknown, id: string, rpc: Rpc) {
  const parts: string[] = [];
  for (const m of rpc.messages ?? []) parts.push(`msg:${(m.topic ?? '').split('/').pop()}:${m.data?.byteLength}B`);
  if (rpc.subscriptions?.length) parts.push('subs');
  for (const k of ['ihave', 'iwant', 'graft', 'prune', 'idontwant'] as const)
    if (rpc.control?.[k]?.length) parts.push(k);
  add(`rpc ${parts.join('+') || 'empty'}`, 0);
  return origSendRpc.call(this, id, rpc);
};

const origWrite = Socket.prototype.write;
Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
  if (this.remotePort === undefined || this.localPort === undefined)
    return (origWrite as (...a: unknown[]) => boolean).apply(this, args);
  const chunk = args[0] as Uint8Array | string;
  add('socket-write', typeof chunk === 'string' ? chunk.length : chunk.byteLength);
  return (origWrite as (...a: unknown[]) => boolean).apply(this, args);
} as typeof Socket.prototype.write;

const pool = await TestPool.create();
try {
  const tunables = defaultTunables(1000);
  const agents: Agent[] = [];
  for (let i = 0; i < n; i++) {
    const cfg = pool.config(`a${i}`, {}, tunables);
    const a = new Agent(cfg, { log: quietLog });
    await a.start();
    pool.agents.push(a);
    agents.push(a);
  }
  const t0 = Date.now();
  while (Date.now() - t0 < 60_000) {
    if (agents.every((a) => a.cluster().members.filter((m) => m.state === 'alive').length === n)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  process.stderr.write(`converged in ${Date.now() - t0} ms; idling 5 s, then counting ${windowS} s\n`);
  await new Promise((r) => setTimeout(r, 5_000));
  counting = true;
  await new Promise((r) => setTimeout(r, windowS * 1000));
  counting = false;
  const rows = [...counts.entries()].sort((a, b) => b[1].frames - a[1].frames);
  for (const [k, c] of rows)
    process.stdout.write(
      `${(c.frames / n / windowS).toFixed(2).padStart(7)} frames/s/agent ${(c.bytes / n / windowS).toFixed(0).padStart(6)} B/s/agent  ${k}\n`,
    );
} finally {
  await pool.cleanup();
}
