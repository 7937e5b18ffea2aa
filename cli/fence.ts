import { existsSync } from 'node:fs';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { type GossipSub, gossipsub, StrictSign } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import { poolKeyFile } from '../shared/config/resolve.ts';
import { P2P_DEFAULT_PORT } from '../shared/config/tunables.ts';
import type { Logger } from '../shared/log.ts';
import { readPoolKey } from '../shared/pool-key.ts';
import { encodeMessage } from '../shared/wire/codec.ts';
import { controlTopic, type PoolStopping, WIRE_VERSION } from '../shared/wire/heartbeat.ts';
import { cliLogger, isLive, type PoolContext } from './context.ts';
import { FENCE_DEFAULTS, type FenceOptions } from './terminate-limits.ts';

/**
 * The "pool stopping" fence: before `terminate` ends anything, every leader of the pool is told to
 * stop launching and healing, so the sweep is not raced by self-healing. The CLI joins the pool's
 * private network for a moment as a gossipsub peer (a fresh identity, the pool key for pnet,
 * StrictSign like the agents), dials every agent it can reach, and publishes a signed `stopping`
 * notice on the control topic a few times; an agent that received it never acts as leader again
 * (agent/control.ts). Agents it cannot reach are not waited for: the sweep ends them all the same.
 */

export { FENCE_DEFAULTS, type FenceOptions };

export interface FenceResult {
  /** Addresses tried (one per agent address known). */
  targets: number;
  /** Agents connected to. */
  connected: number;
  /** Agents subscribed to the control topic when the notice went out: those told. */
  reached: number;
}

interface Progress {
  progress(text: string): void;
}

/** Fences the pool; never throws, never takes much longer than twice `timeoutMs` (listing, then telling). */
export async function fencePool(
  ctx: PoolContext,
  io?: Progress,
  opts: Partial<FenceOptions> = {},
  log: Logger = cliLogger(),
): Promise<FenceResult> {
  const o = { ...FENCE_DEFAULTS, ...opts };
  const none: FenceResult = { targets: 0, connected: 0, reached: 0 };
  const keyFile = poolKeyFile(ctx.stateDir);
  if (!existsSync(keyFile)) {
    log.debug('fence: no pool key, nothing was launched from here', { pool: ctx.pool.name });
    return none;
  }
  const abort = AbortSignal.timeout(o.timeoutMs);
  let node: Libp2p<{ pubsub: GossipSub }> | undefined;
  const result = { ...none };
  try {
    const targets = await fenceTargets(ctx, o.monitorTimeoutMs, abort);
    // The notice's own budget starts once the targets are known: listing them (a provider call, the
    // local store's lock a leader may hold) once used it all, and every dial then got 0 ms: a
    // 50-agent pool was told nothing.
    const deadline = Date.now() + o.timeoutMs;
    result.targets = targets.length;
    if (targets.length === 0) {
      io?.progress('fence: no agent address listed; nothing to tell');
      return result;
    }
    node = await createFenceNode(await readPoolKey(keyFile));
    const topic = controlTopic(ctx.pool.name);
    node.services.pubsub.subscribe(topic);
    const dialTimeout = Math.min(o.dialTimeoutMs, Math.max(0, deadline - Date.now()));
    const dials = await Promise.allSettled(
      targets.map((a) => node?.dial(multiaddr(a), { signal: AbortSignal.timeout(dialTimeout) })),
    );
    const failed = dials.filter((d) => d.status === 'rejected').length;
    const peers = () => new Set(node?.getConnections().map((c) => c.remotePeer.toString()));
    result.connected = peers().size;
    // Until every connected agent told us it is subscribed, bounded by what is left of the budget
    // less the publishes themselves.
    const publishing = o.publishes * o.publishEveryMs;
    const subscribed = () => node?.services.pubsub.getSubscribers(topic).length ?? 0;
    while (result.connected > 0 && subscribed() < peers().size && Date.now() + publishing < deadline) {
      await sleep(50);
    }
    result.reached = subscribed();
    const self = node.peerId.toString();
    const seq0 = Date.now();
    for (let i = 0; i < o.publishes && Date.now() < deadline; i++) {
      if (i > 0) await sleep(o.publishEveryMs);
      const notice: PoolStopping = { v: WIRE_VERSION, type: 'stopping', peerId: self, seq: seq0 + i, at: Date.now() };
      await node.services.pubsub.publish(topic, encodeMessage(notice)).catch((err: Error) => {
        log.debug('fence: publish failed', { error: err.message });
      });
      result.reached = Math.max(result.reached, subscribed());
    }
    const why = failed > 0 ? ` (${failed} address${failed > 1 ? 'es' : ''} unreachable)` : '';
    io?.progress(`fence: told ${result.reached} agent${result.reached === 1 ? '' : 's'} the pool is stopping${why}`);
    return result;
  } catch (err) {
    io?.progress(`fence: could not tell the agents (${(err as Error).message}); the sweep goes on`);
    return result;
  } finally {
    if (node) await bounded(Promise.resolve(node.stop()), 1000);
  }
}

/**
 * Every address an agent of the pool may listen on: each live instance's private (else public)
 * IP at its cloud's p2p port, and the multiaddrs (with peer ids) its monitor's /cluster lists.
 */
async function fenceTargets(ctx: PoolContext, monitorTimeoutMs: number, abort: AbortSignal): Promise<string[]> {
  const out = new Set<string>();
  const monitors: string[] = [];
  for (const cloud of ctx.clouds) {
    const using = ctx.pool.clouds[cloud]?.using as { p2pPort?: number } | undefined;
    const port = using?.p2pPort ?? P2P_DEFAULT_PORT;
    const listed = await ctx
      .remoter(cloud)
      .list({ pool: ctx.pool.name, cloud })
      .catch(() => []);
    for (const inst of listed.filter(isLive)) {
      const ip = inst.privateIp ?? inst.publicIp;
      if (ip && /^[0-9.]+$/.test(ip)) out.add(`/ip4/${ip}/tcp/${port}`);
      if (inst.monitor) monitors.push(inst.monitor);
    }
  }
  const views = await Promise.allSettled(
    monitors.slice(0, 8).map(async (url) => {
      const r = await fetch(`${url.replace(/\/$/, '')}/cluster`, {
        signal: AbortSignal.any([abort, AbortSignal.timeout(monitorTimeoutMs)]),
      });
      if (!r.ok) return [];
      const view = (await r.json()) as { members?: { peerId?: unknown; state?: unknown; addrs?: unknown }[] };
      return Array.isArray(view.members) ? view.members : [];
    }),
  );
  for (const v of views) {
    if (v.status !== 'fulfilled') continue;
    for (const m of v.value) {
      if (typeof m.peerId !== 'string' || !Array.isArray(m.addrs) || m.state === 'dead' || m.state === 'left') continue;
      for (const a of m.addrs) {
        if (typeof a !== 'string' || !/^\/ip[46]\/[^/]+\/tcp\/\d+$/.test(a)) continue;
        // The bare address of the same agent is replaced by the one naming its peer id.
        out.delete(a);
        out.add(`${a}/p2p/${m.peerId}`);
      }
    }
  }
  return [...out].slice(0, 64);
}

/** A dial-only gossipsub peer: what the agents run (TCP, pnet, noise, yamux, StrictSign), nothing more. */
async function createFenceNode(poolKey: Uint8Array): Promise<Libp2p<{ pubsub: GossipSub }>> {
  return createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: [] },
    transports: [tcp()],
    connectionProtector: preSharedKey({ psk: poolKey }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 80, allow: ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128'] },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictSign,
        allowPublishToZeroTopicPeers: true,
        floodPublish: true,
        emitSelf: false,
      }),
    },
  }) as unknown as Promise<Libp2p<{ pubsub: GossipSub }>>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits for `p` at most `ms`; its failure is ignored. */
async function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
