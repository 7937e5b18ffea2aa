import type { InstanceRecord } from '../../shared/remoter/types.ts';
import type { DecisionLog } from './decisions.ts';
import type { ScalerDeps } from './deps.ts';

/**
 * This cloud's live instances (pending or running) as the provider lists them now; null when the
 * listing failed, which is recorded as a failed decision once per distinct error (not every step).
 */
export async function listLive(
  d: Pick<ScalerDeps, 'remoter' | 'pool' | 'cloud'>,
  decisions: DecisionLog,
  term: number,
  now: number,
): Promise<InstanceRecord[] | null> {
  try {
    const all = await d.remoter().list({ pool: d.pool, cloud: d.cloud });
    return all.filter((i) => i.state === 'pending' || i.state === 'running');
  } catch (err) {
    const reason = `provider list failed: ${(err as Error).message}`;
    decisions.recordOnChange(reason, { at: now, term, action: 'none', count: 0, reason, result: 'failed' });
    return null;
  }
}
