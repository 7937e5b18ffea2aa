/**
 * The pool key's stream cipher: MB/s of ours (agent/p2p/pool-key-cipher.ts, @noble/ciphers) against
 * the `xsalsa20` package's WASM that @libp2p/pnet uses, per write size (usage: HELP below). Both
 * run in this process on one stream each, alternating (ours, theirs, ours, theirs …) so a change
 * of load on a shared machine falls on both alike; each trial XORs the same bytes in writes of one
 * size, into a new output array per write, as a connection does.
 */
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { XSalsa20Stream } from '../../agent/p2p/pool-key-cipher.ts';
import { benchArgs } from './lib/args.ts';
import { ratio, summarize } from './lib/stats.ts';

const HELP = `npx tsx test/bench/pool-key-cipher.ts [--sizes LIST] [--mb N] [--trials N]   pool key cipher MB/s

Options:
  --sizes LIST  write sizes in bytes, comma-separated (default 100,1024,65536)
  --mb N        megabytes XORed per trial (default 16)
  --trials N    trials per cipher and size, alternating ours and theirs (default 7)
  -h, --help    this help

Prints one JSON object: { date, node, load: { before, after }, mbPerTrial, trials, sizes: { <bytes>:
{ ours, xsalsa20Wasm, oursOverTheirs } } }, ours and xsalsa20Wasm each { median, p90, max, samples }
in MB/s (10^6 bytes), oursOverTheirs the ratio of the medians.`;

const values = benchArgs('pool-key-cipher', HELP, {
  sizes: { type: 'string', default: '100,1024,65536' },
  mb: { type: 'string', default: '16' },
  trials: { type: 'string', default: '7' },
});
const sizes = values.sizes.split(',').map(Number);
const bytesPerTrial = Number(values.mb) * 1e6;
const trials = Number(values.trials);
if (sizes.some((s) => !(s > 0)) || !(bytesPerTrial > 0) || !(trials > 0)) {
  process.stderr.write('pool-key-cipher: --sizes, --mb and --trials take positive numbers (see --help)\n');
  process.exit(2);
}

type Cipher = { update(data: Uint8Array): Uint8Array };
const require = createRequire(import.meta.url);
const xsalsa20 = require('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => Cipher;

const key = crypto.getRandomValues(new Uint8Array(32));
const nonce = crypto.getRandomValues(new Uint8Array(24));
const ciphers: Record<'ours' | 'xsalsa20Wasm', () => Cipher> = {
  ours: () => new XSalsa20Stream(key, nonce),
  xsalsa20Wasm: () => xsalsa20(nonce, key),
};

/** MB/s of one trial: a fresh stream XORs bytesPerTrial bytes in writes of `size`. */
function trial(make: () => Cipher, size: number): number {
  const data = crypto.getRandomValues(new Uint8Array(size));
  const writes = Math.max(1, Math.round(bytesPerTrial / size));
  const cipher = make();
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < writes; i++) sink ^= cipher.update(data)[0] as number;
  const seconds = (performance.now() - start) / 1000;
  if (sink === 256) console.error('unreachable'); // keeps the outputs observable
  return (writes * size) / 1e6 / seconds;
}

const loadBefore = loadavg()[0];
const results: Record<string, unknown> = {};
for (const size of sizes) {
  // One untimed trial each first, so both run optimised code.
  trial(ciphers.ours, size);
  trial(ciphers.xsalsa20Wasm, size);
  const samples = { ours: [] as number[], xsalsa20Wasm: [] as number[] };
  for (let t = 0; t < trials; t++) {
    samples.ours.push(trial(ciphers.ours, size));
    samples.xsalsa20Wasm.push(trial(ciphers.xsalsa20Wasm, size));
  }
  const ours = summarize(samples.ours, 1);
  const theirs = summarize(samples.xsalsa20Wasm, 1);
  results[size] = { ours, xsalsa20Wasm: theirs, oursOverTheirs: ratio(ours.median, theirs.median) };
}
console.log(
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      load: { before: loadBefore, after: loadavg()[0] },
      mbPerTrial: Number(values.mb),
      trials,
      sizes: results,
    },
    null,
    2,
  ),
);
