/**
 * One Ed25519 signature check and one signature, in µs: @libp2p/crypto as it is (the key imported
 * from a JWK for each) against the agent's KeyObjects imported once (agent/p2p/ed25519-keys.ts).
 * Trials alternate (theirs, ours, theirs, ours …) so a change of load on a shared machine falls on
 * both alike. Usage: HELP below.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PublicKey } from '@libp2p/interface';
import { installKeyObjectVerify, keyObjectSigner } from '../../agent/p2p/ed25519-keys.ts';
import { benchArgs } from './lib/args.ts';
import { ratio, summarize } from './lib/stats.ts';

const HELP = `npx tsx test/bench/ed25519-cost.ts [--ops N] [--trials N] [--bytes N]   Ed25519 µs per check and signature

Options:
  --ops N      operations per trial (default 2000)
  --trials N   trials per side and operation, alternating (default 7)
  --bytes N    message size (default 300: a member record on the topic, signed envelope included)
  -h, --help   this help

Prints one JSON object: { date, node, load: { before, after }, ops, trials, bytes, verify, sign },
verify and sign each { libp2p, keyObject, saved }: libp2p and keyObject { median, p90, max, samples }
in µs per operation, saved the share of libp2p's median that keyObject does not spend.`;

const values = benchArgs('ed25519-cost', HELP, {
  ops: { type: 'string', default: '2000' },
  trials: { type: 'string', default: '7' },
  bytes: { type: 'string', default: '300' },
});
const [ops, trials, bytes] = [Number(values.ops), Number(values.trials), Number(values.bytes)];
if (![ops, trials, bytes].every((v) => Number.isInteger(v) && v > 0)) {
  process.stderr.write('ed25519-cost: --ops, --trials and --bytes take positive integers (see --help)\n');
  process.exit(2);
}

const key = await generateKeyPair('Ed25519');
const fast = keyObjectSigner(key);
const msg = randomBytes(bytes);
const sig = await key.sign(msg);
const proto = Object.getPrototypeOf(key.publicKey) as PublicKey;
const libp2pVerify = proto.verify;
installKeyObjectVerify();

/** µs per operation of one trial. */
function trial(op: () => unknown): number {
  const start = performance.now();
  for (let i = 0; i < ops; i++) op();
  return ((performance.now() - start) * 1000) / ops;
}

function compare(theirs: () => unknown, ours: () => unknown) {
  trial(theirs); // untimed first: both run optimised code
  trial(ours);
  const s = { libp2p: [] as number[], keyObject: [] as number[] };
  for (let t = 0; t < trials; t++) {
    s.libp2p.push(trial(theirs));
    s.keyObject.push(trial(ours));
  }
  const [a, b] = [summarize(s.libp2p, 1), summarize(s.keyObject, 1)];
  const r = ratio(b.median, a.median);
  return { libp2p: a, keyObject: b, saved: r === null ? null : Number((1 - r).toFixed(2)) };
}

const loadBefore = loadavg()[0];
const pub = key.publicKey;
const verify = compare(
  () => libp2pVerify.call(pub, msg, sig),
  () => pub.verify(msg, sig),
);
const sign = compare(
  () => key.sign(msg),
  () => fast.sign(msg),
);
const load = { before: loadBefore, after: loadavg()[0] };
console.log(
  JSON.stringify(
    { date: new Date().toISOString(), node: process.version, load, ops, trials, bytes, verify, sign },
    null,
    2,
  ),
);
