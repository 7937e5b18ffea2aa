import { afterEach, describe, expect, it } from 'vitest';
import type { PoolNode } from '../agent/p2p/node.ts';
import { createDialerNode } from '../cli/dialer-node.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { FrameReader, line, sendAll } from '../shared/wire/bundle-transfer.ts';
import { startPoolNode } from './helpers/pool-node.ts';

const ECHO = '/poolparty/test-echo/1';

/** The CLI's dial-only node against a real agent node: it reaches members of its own pool only. */
describe('dialer node', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  async function member(poolKey: Uint8Array): Promise<PoolNode> {
    const node = await startPoolNode(poolKey, { maxConnections: 8, maxMessageBytes: 8192 });
    await node.handle(ECHO, async (stream) => {
      const header = await new FrameReader(stream).header();
      await sendAll(stream, line({ ok: true, echo: header.say }));
      await stream.close();
    });
    stops.push(async () => node.stop());
    return node;
  }

  it('dials a member of its pool and exchanges a frame, without listening or running services', async () => {
    const key = generatePoolKey();
    const agent = await member(key);
    const dialer = await createDialerNode({ poolKey: key });
    stops.push(async () => dialer.stop());
    expect(dialer.getMultiaddrs()).toEqual([]);
    expect(dialer.getProtocols()).toEqual([]);

    const stream = await dialer.dialProtocol(agent.getMultiaddrs()[0]!, ECHO);
    await sendAll(stream, line({ say: 'hello' }));
    expect(await new FrameReader(stream).header()).toEqual({ ok: true, echo: 'hello' });
  });

  it('cannot reach a member of another pool', async () => {
    const agent = await member(generatePoolKey());
    const dialer = await createDialerNode({ poolKey: generatePoolKey(), dialTimeout: 2_000 });
    stops.push(async () => dialer.stop());
    await expect(dialer.dialProtocol(agent.getMultiaddrs()[0]!, ECHO)).rejects.toThrow();
  });
});
