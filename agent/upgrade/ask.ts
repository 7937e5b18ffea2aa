import { peerIdFromString } from '@libp2p/peer-id';
import { type MemberUpgradeStatus, UPGRADE_PROTOCOL, type UpgradeRequest } from '../../shared/upgrade/protocol.ts';
import { FrameReader, line, sendAll } from '../../shared/wire/bundle-transfer.ts';
import type { PoolNode } from '../p2p/node.ts';
import { type RollbackHoldRequest, rollbackMarkOf } from './rollback-notice.ts';
import type { MemberObservation } from './rollout.ts';

/** How long one request to a member may take (ms): staging includes fetching the artifact. */
export const STAGE_TIMEOUT = 120_000;
export const REQUEST_TIMEOUT = 5_000;

/** What a leader asks a member: the shared protocol's requests, and the rollback hold. */
export type MemberRequest = UpgradeRequest | RollbackHoldRequest;

/** One request to a member, answered (`ok: false` with `retry` when not reached). */
export type Ask = (
  peer: string,
  req: MemberRequest,
  timeout: number,
) => Promise<Record<string, unknown> & { ok: boolean }>;

/**
 * One request to a member over `/poolparty/upgrade/1`: one line out, one answer line back. A
 * member not reached is an answer too, `ok: false` with `retry` (it said nothing of the artifact).
 */
export async function askMember(
  node: PoolNode,
  peer: string,
  req: MemberRequest,
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

/** A `status` answer as the rollout planner reads it; undefined when the member did not answer. */
export function statusOf(a: Record<string, unknown> & { ok: boolean }): MemberObservation['status'] | undefined {
  if (!a.ok) return undefined;
  const s = a as unknown as MemberUpgradeStatus;
  const returnedAt = rollbackMarkOf(a)?.returnedAt;
  return {
    sha256: s.sha256,
    ready: s.ready === true,
    last: s.last,
    held: Array.isArray(s.held) ? s.held : [],
    trial: typeof s.trial === 'string' ? s.trial : null,
    ...(typeof returnedAt === 'number' ? { returnedAt } : {}),
  };
}
