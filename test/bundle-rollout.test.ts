import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../agent/agent.ts';
import { createPoolNode, type PoolNode } from '../agent/p2p/node.ts';
import { NotLeaderError, pushBundle } from '../cli/bundle-push.ts';
import { buildBundle } from '../shared/bundle/build.ts';
import { configureSchema } from '../shared/config/configure-schema.ts';
import { readPoolKey } from '../shared/pool-key.ts';
import { directory, exec, file } from '../shared/resources/index.ts';
import { line, PUSH_PROTOCOL, pushOver, sendAll } from '../shared/wire/bundle-transfer.ts';
import { waitFor } from './fixtures/wait.ts';
import { allAlive, TestPool } from './helpers/agents.ts';

type BundleView = {
  applied: string | null;
  state: string;
  target: string | null;
  report: { verifiers: { ok: boolean }[] } | null;
  rollout: { sha: string; halted?: string } | null;
};

/** Real agents (one process), a real itamae run per node, bundles pushed and pulled over libp2p. */
describe('configuration rollout (real agents, itamae)', () => {
  let pool: TestPool;
  let work: string;
  let client: PoolNode;

  const bundleView = async (a: Agent) => (await (await fetch(`${a.monitorUrl}/bundle`)).json()) as BundleView;
  const leader = () => {
    const id = pool.agents[0]?.cluster().leader?.peerId;
    const a = pool.agents.find((x) => x.peerId === id);
    if (!a) throw new Error('no leader');
    return a;
  };

  async function bundle(name: string, extra: { verifiers?: unknown[]; hooks?: unknown } = {}) {
    const root = join(work, name);
    const configure = configureSchema.parse({
      resources: [
        directory(root),
        file(`${root}/motd`, { content: `hello from ${name}\n`, mode: '0640' }),
        // Records when each node's run starts and ends, to check they never overlap.
        exec(`record ${name}`, { command: `echo start >> ${root}/runs; sleep 1; echo end >> ${root}/runs` }),
      ],
      resolver: ['itamae'],
      ...extra,
    });
    return buildBundle({ pool: pool.pool, cloud: 'web', definition: {}, configure, baseDir: work });
  }

  async function push(to: Agent, bytes: Buffer, header?: Record<string, unknown>) {
    const stream = await client.dialProtocol(peerIdFromString(to.peerId), PUSH_PROTOCOL);
    if (!header) return pushOver(stream, bytes, { maxUnavailable: 1 });
    await sendAll(stream, line(header));
    await sendAll(stream, bytes);
    const answer = await new Response(
      new ReadableStream({
        async start(controller) {
          for await (const chunk of stream) controller.enqueue(chunk instanceof Uint8Array ? chunk : chunk.subarray());
          controller.close();
        },
      }),
    ).text();
    return JSON.parse(answer.split('\n')[0] as string) as { ok: boolean; error?: string };
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'poolparty-rollout-'));
    pool = await TestPool.create();
    for (const n of ['r1', 'r2', 'r3']) await pool.start(n);
    await waitFor('3 agents converge', () => pool.agents.every((a) => allAlive(a.cluster(), 3)));
    // Every push below goes to the leader agent 0 names: all must agree, and that one must lead.
    await waitFor('one leader every agent agrees on', () => {
      const ids = new Set(pool.agents.map((a) => a.cluster().leader?.peerId));
      const [id] = ids;
      return ids.size === 1 && id !== undefined && pool.agents.find((a) => a.peerId === id)?.leadership?.leads != null;
    });
    client = await createPoolNode({
      privateKey: await generateKeyPair('Ed25519'),
      poolKey: await readPoolKey(pool.keyFile),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      maxConnections: 8,
      maxMessageBytes: 8192,
    });
    await client.start();
    for (const a of pool.agents) await client.dial(multiaddr(a.multiaddrs[0] as string));
  });

  afterAll(async () => {
    await client?.stop();
    await pool?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('refuses a push to a non-leader and a push whose bytes do not match their hash', async () => {
    const b = await bundle('refused');
    const follower = pool.agents.find((a) => a !== leader());
    if (!follower) throw new Error('no follower');
    expect(await push(follower, b.bytes)).toMatchObject({
      ok: false,
      code: 'not-leader',
      error: expect.stringMatching(/not the leader/),
    });
    // The CLI's push tells that refusal apart: configure asks the pool for the leader again.
    await expect(
      pushBundle({
        poolKeyFile: pool.keyFile,
        leaderPeerId: follower.peerId,
        leaderAddrs: follower.multiaddrs,
        bytes: b.bytes,
      }),
    ).rejects.toBeInstanceOf(NotLeaderError);
    const tampered = Buffer.from(b.bytes);
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] ?? 0) ^ 0xff;
    const r = await push(leader(), tampered, { sha256: b.sha256, size: tampered.length });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/sha256/);
    for (const a of pool.agents) expect((await bundleView(a)).applied).toBeNull();
  });

  it('rolls a pushed bundle out one node at a time; every node pulls, verifies and applies it', {
    timeout: 120_000,
  }, async () => {
    const b = await bundle('v1', {
      verifiers: [{ command: `grep -q hello ${join(work, 'v1', 'motd')}`, name: 'motd' }],
      hooks: { afterJoin: `echo joined >> ${join(work, 'v1', 'joined')}` },
    });
    expect(await push(leader(), b.bytes)).toEqual({ ok: true });
    // One rollout at a time per pool: another bundle is refused while v1 rolls out; v1 pushed
    // again (a retried configure) is accepted and joins the running rollout.
    const other = await bundle('too-soon');
    const refused = await push(leader(), other.bytes);
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatch(/rollout of [0-9a-f]{12} is in progress.*one rollout at a time/);
    expect(await push(leader(), b.bytes)).toEqual({ ok: true });
    let maxBusy = 0;
    await waitFor(
      'every node applied v1',
      async () => {
        const views = await Promise.all(pool.agents.map(bundleView));
        maxBusy = Math.max(maxBusy, views.filter((v) => v.state === 'fetching' || v.state === 'applying').length);
        return views.every((v) => v.applied === b.sha256 && v.state === 'ok');
      },
      { timeoutMs: 90_000 },
    );
    expect(maxBusy).toBeLessThanOrEqual(1);
    const runs = (await readFile(join(work, 'v1', 'runs'), 'utf8')).trim().split('\n');
    expect(runs).toEqual(['start', 'end', 'start', 'end', 'start', 'end']);
    expect(await readFile(join(work, 'v1', 'motd'), 'utf8')).toBe('hello from v1\n');
    // afterJoin ran once on each node that has a configuration and has met the pool.
    await waitFor('afterJoin on every node', async () => {
      const lines = await readFile(join(work, 'v1', 'joined'), 'utf8').catch(() => '');
      return lines.trim().split('\n').length === 3;
    });
    for (const a of pool.agents) {
      const v = await bundleView(a);
      expect(v.report?.verifiers.every((x) => x.ok)).toBe(true);
      // The applied hash also rides in the node's heartbeat, as seen by the others.
      const seen = pool.agents
        .find((o) => o !== a)
        ?.cluster()
        .members.find((m) => m.peerId === a.peerId);
      expect(seen?.state).toBe('alive');
      // …with the resolver, duration and verifier results of its last apply.
      await waitFor('the apply report gossiped', () => {
        const m = pool.agents
          .find((o) => o !== a)
          ?.cluster()
          .members.find((x) => x.peerId === a.peerId);
        return m?.bundle?.applied === b.sha256 && m.bundle.report !== undefined;
      });
      const report = pool.agents
        .find((o) => o !== a)
        ?.cluster()
        .members.find((m) => m.peerId === a.peerId)?.bundle?.report;
      expect(report).toMatchObject({ ok: true, resolver: 'itamae', verifiers: { passed: 1, failed: [] } });
      expect(report?.durationMs).toBeGreaterThan(0);
    }
  });

  it('a failing verifier halts the rollout and the other nodes keep their configuration', {
    timeout: 180_000,
  }, async () => {
    const v1 = (await bundleView(leader())).applied;
    const b = await bundle('v2', { verifiers: [{ command: 'exit 7', retries: 0, delay: 0, name: 'always fails' }] });
    expect(await push(leader(), b.bytes)).toEqual({ ok: true });
    await waitFor('the rollout halted', async () => Boolean((await bundleView(leader())).rollout?.halted), {
      timeoutMs: 60_000,
    });
    // Once every node holds the halted announcement no further node can be granted v2, so what
    // the views show then is final (a fixed pause would only hope the leader had stopped).
    await waitFor('every node saw the rollout halted', async () =>
      (await Promise.all(pool.agents.map(bundleView))).every((v) => v.rollout?.sha === b.sha256 && v.rollout.halted),
    );
    const views = await Promise.all(pool.agents.map(bundleView));
    expect(views.filter((v) => v.state === 'failed' && v.target === b.sha256)).toHaveLength(1);
    // The failure rides in the failed node's heartbeat too, naming the verifier.
    const failed = pool.agents[views.findIndex((v) => v.state === 'failed')] as Agent;
    await waitFor('the failure gossiped', () =>
      Boolean(
        pool.agents
          .find((o) => o !== failed)
          ?.cluster()
          .members.find((m) => m.peerId === failed.peerId)
          ?.bundle?.report?.verifiers.failed.includes('always fails'),
      ),
    );
    // A halted rollout no longer blocks the next one.
    const fixed = await bundle('v3');
    expect(await push(leader(), fixed.bytes)).toEqual({ ok: true });
    await waitFor(
      'every node applied v3, the failed one included',
      async () => (await Promise.all(pool.agents.map(bundleView))).every((v) => v.applied === fixed.sha256),
      { timeoutMs: 90_000 },
    );
    expect(views.every((v) => v.applied === v1)).toBe(true);
    expect((await readFile(join(work, 'v2', 'runs'), 'utf8')).trim().split('\n')).toEqual(['start', 'end']);
  });
});
