import type { Connection, Stream } from '@libp2p/interface';
import { pushAgeProblem } from '../../shared/upgrade/freshness.ts';
import { parseSignedManifest, verifyArtifact } from '../../shared/upgrade/manifest.ts';
import { verifyRollback } from '../../shared/upgrade/rollback.ts';
import { FrameReader, line, NOT_LEADER, sendAll } from '../../shared/wire/bundle-transfer.ts';
import type { UpgradeLeader } from './leader.ts';
import type { ArtifactStore } from './store.ts';

export interface AcceptUpgradeOptions {
  store: ArtifactStore;
  leader: UpgradeLeader;
  pool: string;
  publicKey: string | undefined;
  leading: () => boolean;
  leaderPeerId: () => string | null;
  maxBytes: number;
  /** Defaults of a push that names none (ms; members at a time). */
  gateMs: number;
  maxUnavailable: number;
  log: (msg: string, fields: Record<string, unknown>) => void;
}

/**
 * The leader's side of `poolparty upgrade` (`/poolparty/upgrade-push/1`): the artifact and its
 * signed manifest, verified with this agent's upgrade key before it is kept or rolled out. The
 * pool key only lets the pusher talk; without the upgrade key's signature nothing happens.
 */
export async function acceptUpgradePush(stream: Stream, conn: Connection, o: AcceptUpgradeOptions): Promise<void> {
  const from = conn.remotePeer.toString();
  const answer = async (body: Record<string, unknown>) => {
    if (body.ok !== true) o.log('upgrade-push-refused', { from, error: body.error });
    await sendAll(stream, line(body));
    await stream.close();
  };
  try {
    const reader = new FrameReader(stream);
    const header = await reader.header();
    if (!o.leading())
      return await answer({
        ok: false,
        code: NOT_LEADER,
        error: `not the leader (leader: ${o.leaderPeerId() ?? 'unknown'})`,
      });
    if (!o.publicKey)
      return await answer({ ok: false, error: 'this pool has no upgrade key: agents refuse every upgrade' });
    if (header.rollback !== undefined) {
      const v = verifyRollback(header.rollback, o.publicKey, o.pool);
      if (!v.ok) return await answer({ ok: false, error: `refused: ${v.detail}` });
      const busy = o.leader.inProgress();
      if (busy)
        return await answer({ ok: false, error: `an upgrade to ${busy.version} is in progress: wait for it to end` });
      // The same request again (the CLI's, after the leader that took it went): `known`, not restarted.
      const run = await o.leader.beginRollback(header.rollback, positive(header.gateMs) ?? o.gateMs);
      return await answer({ ok: true, rollback: true, ...(run === 'known' ? { known: true } : {}) });
    }
    const parsed = parseSignedManifest(header.signed);
    if (!parsed.ok) return await answer({ ok: false, error: `refused: ${header.signed ? parsed.detail : 'unsigned'}` });
    const bytes = await reader.body(Number(header.size), o.maxBytes);
    const verdict = verifyArtifact(bytes, parsed.signed, o.publicKey, o.pool);
    if (!verdict.ok) return await answer({ ok: false, error: `refused: ${verdict.detail}` });
    const m = verdict.manifest;
    const stale = pushAgeProblem(m.issuedAt, Date.now());
    if (stale) return await answer({ ok: false, error: `refused: ${stale}` });
    const busy = o.leader.inProgress();
    if (busy && busy.sha256 !== m.sha256)
      return await answer({
        ok: false,
        error: `an upgrade to ${busy.version} (${busy.sha256.slice(0, 12)}) is in progress: one at a time`,
      });
    // Held already (the same push again, or staged for it): kept as it is, members may be fetching it.
    if (!(await o.store.read(m.sha256))) await o.store.put(parsed.signed, Buffer.from(bytes));
    const gateMs = positive(header.gateMs) ?? o.gateMs;
    const how = busy
      ? 'continued'
      : await o.leader.begin(parsed.signed, gateMs, positive(header.maxUnavailable) ?? o.maxUnavailable);
    o.log('upgrade-pushed', { from, sha256: m.sha256, version: m.version, bytes: bytes.length, how });
    await answer({ ok: true, sha256: m.sha256, version: m.version, ...(how === 'continued' ? { known: true } : {}) });
  } catch (err) {
    await answer({ ok: false, error: (err as Error).message }).catch(() => stream.abort(err as Error));
  }
}

function positive(v: unknown): number | undefined {
  return Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined;
}
