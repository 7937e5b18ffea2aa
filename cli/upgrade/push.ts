import type { SignedManifest } from '../../shared/upgrade/manifest.ts';
import { UPGRADE_PUSH_PROTOCOL } from '../../shared/upgrade/protocol.ts';
import type { SignedRollback } from '../../shared/upgrade/rollback.ts';
import { pushOver } from '../../shared/wire/bundle-transfer.ts';
import { type PushOptions, pushToLeader } from '../bundle-push.ts';

export type UpgradePush =
  | { signed: SignedManifest; bytes: Buffer; gateMs?: number; maxUnavailable?: number }
  | { rollback: SignedRollback };

/**
 * Hands the leader a signed artifact (or a signed rollback request, with no body) over
 * `/poolparty/upgrade-push/1`, framed as a bundle push; resolves with the multiaddr it reached.
 * The leader and then every member verify the signature with their own key.
 */
export function pushUpgrade(
  opts: Pick<PushOptions, 'poolKeyFile' | 'leaderPeerId' | 'leaderAddrs' | 'dialTimeout'>,
  push: UpgradePush,
): Promise<string> {
  const { bytes, ...fields } = 'rollback' in push ? { ...push, bytes: Buffer.alloc(0) } : push;
  // The header's extra fields (signed manifest, gate, or the rollback request) ride beside its hash and size.
  const header: Record<string, unknown> = fields;
  return pushToLeader(opts, UPGRADE_PUSH_PROTOCOL, 'upgrade', (stream) => pushOver(stream, bytes, header));
}
