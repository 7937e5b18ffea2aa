import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { afterEach, describe, expect, it } from 'vitest';
import { Membership } from '../agent/membership/membership.ts';
import { defaultSwimConfig } from '../agent/membership/swim/config.ts';
import { ed25519Signer } from '../agent/p2p/ed25519-keys.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import { ensurePoolKey } from '../shared/pool-key.ts';
import type { MemberEvent } from '../shared/wire/cluster.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import { probeProtocol } from '../shared/wire/probe.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';
import { memberRecord } from './helpers/records.ts';

/**
 * Issue 13, a suspicion that cannot reach its suspect: three real members on libp2p; B takes no
 * inbound probe streams (its probe handler is removed: every dial of B's probe protocol fails
 * while the members topic and sync still work, as mid-storm when dials queue but the gossipsub mesh
 * flows). A and C cannot ping B nor tell it that they suspect it; B cannot hear their acks nor
 * their refutations. Before the detour (swim/detours.ts) each accuser's timer ran out and B was
 * declared dead (and B declared A and C dead); now each suspicion goes once by the topic, is refuted
 * to the pool, and nobody is declared dead.
 */

const POOL = 'p';
/** A member event and the member that saw it. */
type Seen = MemberEvent & { by: string };
const none = () => undefined;
const QUIET = { maxMessageBytes: 1 << 16, onFrame: none, onReject: none, onBytes: none, log: none, maxConnections: 16 };

/** Our record as gossip carries it, with the addresses we listen on (members dial them). */
function recordOf(peerId: string, node: PoolNode): Heartbeat {
  const addrs = node.getMultiaddrs().map((a) => a.toString().split('/p2p/')[0] as string);
  return memberRecord(peerId, { addrs, instanceId: `i-${peerId.slice(-8)}`, seq: Date.now() });
}

describe('a suspicion whose tell cannot reach the suspect (issue 13)', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });

  async function member(key: Uint8Array, events: Seen[], bootstrap: string[]) {
    const privateKey = await generateKeyPair('Ed25519');
    const node = await startPoolNode(key, { privateKey });
    stops.push(async () => node.stop());
    const self = node.peerId.toString();
    const membership = new Membership({
      node,
      pool: POOL,
      self,
      // Short timers: without the detour B is declared within 4 s of its first suspicion.
      swim: { ...defaultSwimConfig(), suspicionMinTimeout: 2000, suspicionMaxTimeout: 4000 },
      now: Date.now,
      bootstrap,
      record: () => recordOf(self, node),
      // Signed as an agent signs it: C learns B's record from A's table only (B takes no probes).
      signRecord: ed25519Signer(privateKey),
      onEvent: (e) => events.push({ ...e, by: self }),
      ...QUIET,
    });
    await membership.start();
    stops.push(() => membership.stop({ leave: false, grace: 0 }));
    return { node, self, membership, addr: node.getMultiaddrs()[0]!.toString() };
  }

  it('is refuted by way of the topic: the suspect is held alive, nobody is declared dead', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-detour-'));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const { key } = await ensurePoolKey(join(dir, 'pool.key'));
    const events: Seen[] = [];
    const a = await member(key, events, []);
    const b = await member(key, events, [a.addr]);
    await b.node.unhandle(probeProtocol(POOL)); // before anyone opens a probe stream to B
    const c = await member(key, events, [a.addr]);
    const all = [a, b, c];
    await waitFor('every member holds the other two', () => all.every((m) => [...m.membership.known()].length === 2), {
      timeoutMs: 30_000,
    });
    // A and C suspect B (their pings fail), and B refutes what came to it by the topic.
    await waitFor(
      'an accuser held B suspect, then alive again',
      () =>
        events.some((e) => e.type === 'member-suspect' && e.peerId === b.self) &&
        events.some((e) => e.type === 'member-recovered' && e.peerId === b.self),
      { timeoutMs: 20_000 },
    );
    await new Promise((r) => setTimeout(r, 10_000)); // well past suspicionMaxTimeout, several times over
    expect(
      events.filter((e) => e.type === 'member-dead').map((e) => `${e.by.slice(-6)} → ${e.peerId.slice(-6)}`),
    ).toEqual([]);
    for (const m of [a, c])
      expect([...m.membership.known()].find((k) => k.record.peerId === b.self)?.liveness.state).not.toBe('dead');
  }, 90_000);
});
