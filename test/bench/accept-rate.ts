import { createConnection, createServer, type Socket } from 'node:net';
import { benchArgs } from './lib/args.ts';

/**
 * How many queued connections a Node server accepts while its event loop is busy (ARCHITECTURE.md,
 * "What a seed can take in at once"). The clients connect before the loop turns, so the kernel
 * completes every handshake and they all wait in the accept queue; then each loop turn is held
 * busy for --turn-ms. libuv 1.46 (Node 20) accepts one connection per turn, so `accepted` comes out
 * near windowMs / turnMs, not all of them; with --turn-ms 0 all are accepted at once.
 */

const HELP = `npx tsx test/bench/accept-rate.ts [--connections N] [--turn-ms MS] [--window-ms MS]

Options:
  --connections N  clients that connect at once to one server on 127.0.0.1 (default 100)
  --turn-ms MS     CPU each event-loop turn is kept busy (default 50; 0: an idle loop)
  --window-ms MS   how long to count accepted connections (default 2000)
  -h, --help       this help

Prints one JSON line: connections, turnMs, windowMs, accepted, acceptedPerTurn (accepted per
window / turn), node and libuv versions.`;

const values = benchArgs('accept-rate', HELP, {
  connections: { type: 'string', default: '100' },
  'turn-ms': { type: 'string', default: '50' },
  'window-ms': { type: 'string', default: '2000' },
});
const n = Number(values.connections);
const turnMs = Number(values['turn-ms']);
const windowMs = Number(values['window-ms']);
if (!(Number.isInteger(n) && n >= 1 && n <= 1000)) throw new Error('--connections: expected an integer 1..1000');
if (!(turnMs >= 0 && turnMs <= 1000)) throw new Error('--turn-ms: expected 0..1000');
if (!(windowMs >= 100 && windowMs <= 60_000)) throw new Error('--window-ms: expected 100..60000');

let accepted = 0;
const sockets: Socket[] = [];
const server = createServer((s) => {
  accepted++;
  sockets.push(s);
  s.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  for (let i = 0; i < n; i++) sockets.push(createConnection(port, '127.0.0.1').on('error', () => undefined));
  const busy = setInterval(() => {
    const until = Date.now() + turnMs;
    while (Date.now() < until);
  }, 1);
  setTimeout(() => {
    clearInterval(busy);
    const turns = turnMs > 0 ? windowMs / turnMs : null;
    const out = {
      connections: n,
      turnMs,
      windowMs,
      accepted,
      acceptedPerTurn: turns ? Number((accepted / turns).toFixed(2)) : null,
      node: process.version,
      libuv: process.versions.uv,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    for (const s of sockets) s.destroy();
    server.close();
  }, windowMs);
});
