import { peerIdFromString } from '@libp2p/peer-id';
import { UPGRADE_PROTOCOL, type UpgradeRequest } from '../../shared/upgrade/protocol.ts';
import { FrameReader, line, sendAll } from '../../shared/wire/bundle-transfer.ts';
import type { PoolNode } from '../p2p/node.ts';

/**
 * One request to a member over `/poolparty/upgrade/1`: one line out, one answer line back. A
 * member not reached is an answer too, `ok: false` with `retry` (it said nothing of the artifact).
 */
export async function askMember(
  node: PoolNode,
  peer: string,
  req: UpgradeRequest,
  timeout: number,
): Promise<Record<string, unknown> & { ok: boolean }> {
  try {
    const signal = AbortSignal.timeout(timeout);
    const stream = await node.dialProtocol(peerIdFromString(peer), UPGRADE_PROTOCOL, { signal });
    await sendAll(stream, line(req as unknown as Record<string, unknown>));
    const answer = await new FrameReader(stream).header();
    await stream.close().catch(() => undefined);
    return { ...answer, ok: answer.ok === true };
  } catch (err) {
    return { ok: false, retry: true, error: `unreachable: ${(err as Error).message}` };
  }
}
