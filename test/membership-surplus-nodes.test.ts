import type { Stream } from '@libp2p/interface';
import { afterEach, describe, expect, it } from 'vitest';
import { DialOrder } from '../agent/membership/dial-order.ts';
import { keepConnections } from '../agent/membership/neighbours.ts';
import { SURPLUS_GRACE_MS } from '../agent/membership/surplus.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { syncProtocol } from '../shared/wire/probe.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * A seed past its connection budget hangs up on a joiner as soon as the joiner's pull is over
 * (issue 13: held for the whole 30 s grace, joiners' connections neared libp2p's hard cap of
 * 4 × maxConnections, past which the seed refuses every joiner). Real libp2p nodes;
 * the clock passed to keepConnections stands in for the grace.
 */

const open = (n: PoolNode) => n.getConnections().filter((c) => c.status === 'open');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a connection past the budget closes once it carries nothing of its own', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function seedAndJoiner() {
    const key = generatePoolKey();
    const seed = await startPoolNode(key);
    const joiner = await startPoolNode(key);
    stops.push(
      async () => seed.stop(),
      async () => joiner.stop(),
    );
    const held: Stream[] = [];
    // The seed's side of a pull in progress: the stream stays open until the test lets it go.
    await seed.handle(syncProtocol('surplus'), (stream) => void held.push(stream));
    await joiner.dial(seed.getMultiaddrs()[0]!);
    const order = new DialOrder(seed.peerId.toString());
    // The seed keeps nobody (the joiner is not its ring neighbour) and may hold no connection.
    const shed = (now: number) => keepConnections(seed, new Set(), () => true, 0, now, order);
    return { seed, joiner, held, shed };
  }

  it('a joiner whose pull is running stays past SURPLUS_GRACE_MS; it goes once the pull is over', async () => {
    const { seed, joiner, held, shed } = await seedAndJoiner();
    const pull = await joiner.dialProtocol(seed.peerId, syncProtocol('surplus'));
    await waitFor('the seed serves the pull', () => held.length === 1);

    shed(Date.now() + SURPLUS_GRACE_MS);
    await sleep(300);
    expect(open(seed)).toHaveLength(1);

    await pull.close();
    await held[0]?.close();
    await waitFor(
      'the pull stream closed on the seed',
      () => open(seed)[0]?.streams.every((s) => !/sync/.test(s.protocol ?? '')) ?? true,
    );
    shed(Date.now() + SURPLUS_GRACE_MS);
    await waitFor('the seed hung up on the joiner', () => open(seed).length === 0);
  });

  it('an idle connection younger than SURPLUS_GRACE_MS stays', async () => {
    const { seed, shed } = await seedAndJoiner();
    shed(Date.now() + SURPLUS_GRACE_MS - 2000);
    await sleep(300);
    expect(open(seed)).toHaveLength(1);
  });
});
