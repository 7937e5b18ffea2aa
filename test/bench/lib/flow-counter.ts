import { writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream';
// Not exported by the package: its file is the same module instance gossipsub's index loads
// (in the artifact too: esbuild bundles both imports as one module).
import { GossipSub } from '../../../node_modules/@libp2p/gossipsub/dist/src/gossipsub.js';

/**
 * Diagnostic only (test/bench/idle-watch.ts): imported first by test/bench/idle-agent.ts, it counts
 * what this agent process sends — every yamux frame by kind and stream protocol, every gossipsub
 * RPC by content, every socket write — and every 10 s writes the running totals as JSON to
 * $PP_FLOWS_DIR/<pid>.json. The figures that count are the kernel's; these say what they are made of.
 */
interface Count {
  n: number;
  bytes: number;
}
const counts = new Map<string, Count>();
function add(key: string, bytes: number): void {
  const c = counts.get(key) ?? { n: 0, bytes: 0 };
  c.n++;
  c.bytes += bytes;
  counts.set(key, c);
}

type Frame = { type: number; length: number };
type Counted = { sendFrame: (h: Frame, d?: unknown) => boolean; protocol?: string; __counted?: boolean };
const streamProto = (YamuxStream as unknown as { prototype: Record<string, (...a: unknown[]) => unknown> }).prototype;
const FRAME_KINDS = ['data', 'window-update'];
/** Each stream gets its own sendFrame at construction: count through it from the stream's first send on. */
function countFrames(s: Counted): void {
  if (s.__counted) return;
  s.__counted = true;
  const name = () => s.protocol || '(negotiating)';
  add(`stream ${name()}`, 0);
  const send = s.sendFrame;
  s.sendFrame = (h, d) => {
    add(`yamux ${FRAME_KINDS[h.type] ?? `type-${h.type}`} ${name()}`, 12 + (h.type === 0 ? h.length : 0));
    return send(h, d);
  };
}
for (const method of ['sendData', 'sendWindowUpdate']) {
  const original = streamProto[method] as (...a: unknown[]) => unknown;
  streamProto[method] = function (this: Counted, ...a: unknown[]) {
    countFrames(this);
    return original.apply(this, a);
  };
}

interface Rpc {
  messages?: Array<{ topic?: string; data?: Uint8Array }>;
  subscriptions?: unknown[];
  control?: Record<string, unknown[] | undefined>;
}
const gs = (GossipSub as unknown as { prototype: { sendRpc: (id: unknown, rpc: Rpc) => boolean } }).prototype;
const origSendRpc = gs.sendRpc;
gs.sendRpc = function (this: unknown, id: unknown, rpc: Rpc) {
  for (const m of rpc.messages ?? []) add(`gossip msg ${(m.topic ?? '').split('/').pop()}`, m.data?.byteLength ?? 0);
  if (rpc.subscriptions?.length) add('gossip subs', 0);
  for (const k of ['ihave', 'iwant', 'graft', 'prune', 'idontwant'])
    if (rpc.control?.[k]?.length) add(`gossip ${k}`, rpc.control[k]?.length ?? 0);
  return origSendRpc.call(this, id, rpc);
};

const origWrite = Socket.prototype.write;
Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
  const chunk = args[0] as Uint8Array | string;
  if (this.remotePort !== undefined) add('socket-write', typeof chunk === 'string' ? chunk.length : chunk.byteLength);
  return (origWrite as (...a: unknown[]) => boolean).apply(this, args);
} as typeof Socket.prototype.write;
const origConnect = Socket.prototype.connect;
Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
  add('socket-connect', 0);
  return (origConnect as (...a: unknown[]) => Socket).apply(this, args);
} as typeof Socket.prototype.connect;

const dir = process.env.PP_FLOWS_DIR;
if (dir) {
  const file = join(dir, `${process.pid}.json`);
  setInterval(() => {
    writeFileSync(file, JSON.stringify({ at: Date.now(), counts: Object.fromEntries(counts) }));
  }, 10_000).unref();
}
