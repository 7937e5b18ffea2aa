import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { type GossipSub, gossipsub, StrictSign } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { PrivateKey } from '@libp2p/interface';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { createLibp2p, type Libp2p } from 'libp2p';
import { installKeyObjectVerify, keyObjectSigner } from './ed25519-keys.ts';
import { noiseCrypto } from './noise-crypto.ts';
import { poolKeyProtector } from './pool-key-protector.ts';
import { libp2pLogger } from './quiet-logger.ts';

export interface PoolNodeOptions {
  privateKey: PrivateKey;
  /** The pool's pre-shared key (swarm key v1 bytes). */
  poolKey: Uint8Array;
  listen: string[];
  maxConnections: number;
  /** Largest pubsub message accepted by the transport layer (bytes). */
  maxMessageBytes: number;
}

/** Half-open inbound upgrades (handshakes) a node works on at once; more are refused at once. */
export const MAX_PENDING_INBOUND = 8;
/** Inbound connections accepted per remote address per second (libp2p's default is 5). */
const INBOUND_PER_ADDRESS_PER_S = 100;
/** Longest dial and inbound upgrade (ms); callers may pass shorter signals. */
export const DIAL_MS = 20_000;

export type PoolServices = { pubsub: GossipSub; identify: ReturnType<ReturnType<typeof identify>>; ping: unknown };
export type PoolNode = Libp2p<PoolServices>;

/**
 * Creates (does not start) the agent's libp2p node: TCP + pool key (pnet v1 wire,
 * pool-key-protector.ts) + noise + yamux, gossipsub with StrictSign.
 */
export async function createPoolNode(opts: PoolNodeOptions): Promise<PoolNode> {
  const logger = libp2pLogger();
  // Ed25519 keys imported once, not for every signature checked or made (ed25519-keys.ts).
  installKeyObjectVerify();
  const node = await createLibp2p({
    privateKey: keyObjectSigner(opts.privateKey),
    start: false,
    ...(logger ? { logger } : {}),
    addresses: { listen: opts.listen },
    transports: [tcp(dialSource(opts.listen))],
    connectionProtector: poolKeyProtector({ psk: opts.poolKey }),
    // X25519 keys kept as KeyObjects: noise's default re-imports them from DER for every DH, 7 ms
    // of CPU per handshake side, the largest part of a seed's cost in a join storm (noise-crypto.ts).
    connectionEncrypters: [noise({ crypto: noiseCrypto })],
    // No yamux keep-alive: a ping on every connection every 30 s (and its pong and ACK) was a
    // tenth of an idle agent's packets, and SWIM already probes the peers that matter.
    streamMuxers: [yamux({ enableKeepAlive: false })],
    // SWIM probes the ring neighbours already; libp2p's own monitor would open a ping stream on
    // every connection every 10 s (a large share of an idle agent's packets in the benchmark).
    connectionMonitor: { enabled: false },
    connectionManager: {
      // A hard cap well above the membership's own target (maxConnections, which it keeps by
      // closing non-neighbours): fifty agents joining through one seed at once must all get in
      // (the benchmark's pool of 50 never formed when the seed refused past 16).
      maxConnections: opts.maxConnections * 4,
      // Admission, not a queue: a seed handshaking with every joiner of a storm at once gives
      // each a sliver of its CPU, so none finishes before its joiner gives up and the seed's
      // work is thrown away (N=50, one process each, at load 60: 20-45 agents never got in).
      // Past MAX_PENDING_INBOUND half-open upgrades a connection is refused at once; its joiner
      // backs off and comes back. libp2p skips this check for addresses on its allow list, so
      // loopback is no longer on it; the per-address rate is raised instead because a pool on
      // one host may share an address (tests on 127.0.0.1).
      maxIncomingPendingConnections: MAX_PENDING_INBOUND,
      inboundConnectionThreshold: INBOUND_PER_ADDRESS_PER_S,
      // Dials that matter for time pass their own, shorter signal (probes, neighbours); this
      // bounds the rest. A seed handshaking with fifty joiners on loaded cores takes seconds per
      // connection: at 5 s (dial) and 10 s (inbound upgrade) every handshake of the storm was
      // abandoned half done and retried, and most joiners never got in.
      dialTimeout: DIAL_MS,
      // libp2p caps each address of a dial at 6 s by default, whatever the caller's signal: a
      // join's 25 s dial to its one seed was in fact 6 s, shorter than the seed's upgrade.
      addressDialTimeout: DIAL_MS,
      inboundUpgradeTimeout: DIAL_MS,
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictSign,
        allowPublishToZeroTopicPeers: true,
        // Only changes are published (records, membership updates, control, the leader's
        // summary at a rate that falls with N), so sending our own to every subscribed peer
        // (≤ maxConnections) costs little and does not wait for the mesh to form.
        floodPublish: true,
        emitSelf: false,
        // A pool is a closed, keyed network: every member relays for every other.
        canRelayMessage: true,
        maxInboundDataLength: opts.maxMessageBytes * 4,
        // A pool is closed and keyed: every member is trusted. The default behaviour penalty
        // (broken IWANT promises, easy to incur under event-loop lag) pruned healthy peers for
        // good and collapsed the mesh in benchmarks; colocation penalties would punish a local
        // pool, whose members all share one IP.
        // With no topic scored and these weights 0 every score is 0: the score's 1 s decay beat
        // (one wake-up a second) only drops disconnected peers' stats after an hour and old
        // delivery records (2 min), which 10 s apart does as well.
        scoreParams: { behaviourPenaltyWeight: 0, IPColocationFactorWeight: 0, decayInterval: SCORE_DECAY_MS },
        // Without a fast id, gossipsub verifies the Ed25519 signature of every duplicate copy
        // before noticing it has seen the message: a quarter of all CPU at 25 agents. The key
        // includes the signature, so a forged copy cannot shadow the genuine one.
        fastMsgIdFn: fastMessageId,
      }),
    },
  });
  return node as unknown as PoolNode;
}

/**
 * An agent listening on exactly one IPv4 address dials from it too. Without this every local
 * agent (each on its own 127.0.0.N) dials from 127.0.0.1, so packet filters — a partition test, a
 * firewall rule per instance — cannot tell the agents' traffic apart. net.connect takes
 * `localAddress`; @libp2p/tcp passes dialOpts through but does not declare it.
 */
function dialSource(listen: string[]): Parameters<typeof tcp>[0] {
  const ips = new Set(listen.map((a) => /^\/ip4\/([0-9.]+)\/tcp\//.exec(a)?.[1]).filter((ip) => ip !== undefined));
  const [ip] = [...ips];
  if (ips.size !== 1 || ip === undefined || ip === '0.0.0.0' || listen.some((a) => !a.startsWith('/ip4/'))) return {};
  return { dialOpts: { localAddress: ip } as NonNullable<Parameters<typeof tcp>[0]>['dialOpts'] };
}

function b64(bytes: Uint8Array | undefined): string {
  return bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') : '';
}

/** How often gossipsub's peer score decays and forgets (ms; its default 1,000). */
export const SCORE_DECAY_MS = 10_000;

/** Cheap duplicate key of a raw gossipsub message: sender, sequence number and signature. */
function fastMessageId(msg: {
  from?: Uint8Array;
  seqno?: Uint8Array;
  signature?: Uint8Array;
  data?: Uint8Array;
}): string {
  return `${b64(msg.from)}/${b64(msg.seqno)}/${b64(msg.signature ?? msg.data)}`;
}
