/**
 * One Ed25519 signature check and one signature, in µs: @libp2p/crypto as it is (the key imported
 * from a JWK for each) against the agent's KeyObjects imported once (agent/p2p/ed25519-keys.ts).
 * Also a leader's check of one relayed load report as the agent makes it (verifyByPeerId), plain
 * against bound to the leader (issue 15: boundBytes built for each check). Trials alternate
 * (theirs, ours, theirs, ours …) so a change of load on a shared machine falls on both alike.
 * Usage: HELP below.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PublicKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { installKeyObjectVerify, keyObjectSigner, verifyByPeerId } from '../../agent/p2p/ed25519-keys.ts';
import { boundBytes, reportBody } from '../../shared/wire/relay-report.ts';
import { benchArgs } from './lib/args.ts';
import { ratio, summarize } from './lib/stats.ts';

const HELP = `npx tsx test/bench/ed25519-cost.ts [--ops N] [--trials N] [--bytes N]   Ed25519 µs per check and signature

Options:
  --ops N      operations per trial (default 2000)
  --trials N   trials per side and operation, alternating (default 7)
  --bytes N    message size (default 300: a member record on the topic, signed envelope included)
  -h, --help   this help

Prints one JSON object: { date, node, load: { before, after }, ops, trials, bytes, verify, sign, report },
verify and sign each { libp2p, keyObject, saved }: libp2p and keyObject { median, p90, max, samples }
in µs per operation, saved the share of libp2p's median that keyObject does not spend; report
{ bodyBytes, plain, bound, extra }: a relayed report's check, extra the share bound adds to plain.`;

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

/** Alternating trials of `a` and `b`: their summaries and b's median over a's. */
function alternate(a: () => unknown, b: () => unknown) {
  trial(a); // untimed first: both run optimised code
  trial(b);
  const s = { a: [] as number[], b: [] as number[] };
  for (let t = 0; t < trials; t++) {
    s.a.push(trial(a));
    s.b.push(trial(b));
  }
  const [x, y] = [summarize(s.a, 1), summarize(s.b, 1)];
  return { a: x, b: y, r: ratio(y.median, x.median) };
}

function compare(theirs: () => unknown, ours: () => unknown) {
  const { a, b, r } = alternate(theirs, ours);
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
// A leader's check of one relayed report (agent/load/relay-up.ts accept): a real body, six metrics.
const origin = peerIdFromPrivateKey(key).toString();
const leader = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
const metrics = { cpu: 0.42, mem: 0.61, queue: 12, load1: 1.5, disk: 0.33, net: 18_000 };
const body = reportBody({ origin, term: 12, seq: Date.now(), at: Date.now(), metrics });
const [plainSig, boundSig] = [await fast.sign(body), await fast.sign(boundBytes(body, leader))];
const checked = alternate(
  () => verifyByPeerId(origin, body, plainSig),
  () => verifyByPeerId(origin, boundBytes(body, leader), boundSig),
);
if (!verifyByPeerId(origin, boundBytes(body, leader), boundSig)) throw new Error('bound report does not verify');
const extra = checked.r === null ? null : Number((checked.r - 1).toFixed(2));
const report = { bodyBytes: body.byteLength, plain: checked.a, bound: checked.b, extra };
const load = { before: loadBefore, after: loadavg()[0] };
console.log(
  JSON.stringify(
    { date: new Date().toISOString(), node: process.version, load, ops, trials, bytes, verify, sign, report },
    null,
    2,
  ),
);
