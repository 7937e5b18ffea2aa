import type { Connection, Stream } from '@libp2p/interface';
import {
  parseSignedManifest,
  type SignedManifest,
  verifyArtifact,
  verifyManifest,
} from '../../shared/upgrade/manifest.ts';
import {
  ARTIFACT_PROTOCOL,
  type MemberUpgradeStatus,
  parseUpgradeRequest,
  type RolloutPlan,
  type UpgradeRequest,
} from '../../shared/upgrade/protocol.ts';
import { rollbackId, type SignedRollback, verifyRollback } from '../../shared/upgrade/rollback.ts';
import { FrameReader, line, sendAll } from '../../shared/wire/bundle-transfer.ts';
import { pullFromPeers } from '../content/by-hash.ts';
import type { PoolNode } from '../p2p/node.ts';
import { legacyHold, parseRollbackHold, type RollbackHoldRequest, type RollbackMark } from './rollback-notice.ts';
import type { RunningArtifact } from './running.ts';
import type { ArtifactStore } from './store.ts';

export interface MemberOptions {
  node: PoolNode;
  store: ArtifactStore;
  pool: string;
  /** The pool's upgrade public key from this agent's config; absent: every upgrade is refused. */
  publicKey: string | undefined;
  running: RunningArtifact;
  /** The peer id of the leader this agent follows, if any. */
  leader: () => string | null;
  selfPeerId: string;
  ready: () => boolean;
  maxBytes: number;
  gateMs: number;
  now: () => number;
  /** Stops this agent and starts `current.mjs` (restart.ts). */
  restart: () => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
}

type Answer = Record<string, unknown> & { ok: boolean };

/**
 * A member's side of an upgrade (`/poolparty/upgrade/1`): stage (fetch from peers, verify, keep),
 * activate (restart into a staged artifact), rollback, status. Only the leader this member
 * follows may stage, activate or roll back, and whatever it asks, the artifact must verify with
 * this agent's own upgrade key: a leader orders a rollout, it never decides what runs.
 */
export class UpgradeMember {
  readonly #o: MemberOptions;
  /** Staging in progress, by sha256: a repeated request waits for the same fetch. */
  readonly #staging = new Map<string, Promise<Answer>>();
  /** Set once this process was told to restart: it takes no second activation or rollback. */
  #leaving = false;

  constructor(o: MemberOptions) {
    this.#o = o;
  }

  async handle(stream: Stream, conn: Connection): Promise<void> {
    try {
      const raw = await new FrameReader(stream).header();
      const req = raw.type === 'rollback-hold' ? parseRollbackHold(raw) : parseUpgradeRequest(raw);
      const from = conn.remotePeer.toString();
      const answer = typeof req === 'string' ? { ok: false, error: req } : await this.answer(req, from);
      if (!answer.ok) this.#o.log('upgrade-refused', { from, type: raw.type, error: answer.error });
      await sendAll(stream, line(answer));
      await stream.close();
      if (answer.ok && answer.restart === true) this.restartSelf();
    } catch (err) {
      stream.abort(err as Error);
    }
  }

  /** What to answer `req` from peer `from` (the leader itself calls this with its own peer id). */
  async answer(req: UpgradeRequest | RollbackHoldRequest, from: string): Promise<Answer> {
    if (req.type === 'status') return { ok: true, ...(await this.status()) };
    const o = this.#o;
    if (!o.publicKey) return { ok: false, error: 'refused: this agent has no upgrade key: it refuses every upgrade' };
    // `retry`: the refusal says nothing of the artifact or of this member (the asker is not the
    // leader this member follows, e.g. while two nodes each think they lead): no reason to halt.
    if (from !== o.selfPeerId && from !== o.leader())
      return {
        ok: false,
        retry: true,
        error: `only the leader this agent follows may ${req.type} (${from} does not lead)`,
      };
    // A second activation while this process stops would point previous.mjs at the new artifact
    // (losing the way back) and signal the supervisor this process has become.
    if (this.#leaving && req.type !== 'stage') return { ok: false, retry: true, error: 'restarting already' };
    if (req.type === 'stage') {
      const staged = await this.#stageOnce(req.signed, req.holders);
      if (staged.ok && req.rollout?.sha256 === staged.held) await o.store.writePlan(req.rollout as RolloutPlan);
      return staged;
    }
    if (req.type === 'activate') return this.#activate(req.sha256, req.gateMs);
    if (req.type === 'announced') {
      const plan = await o.store.plan();
      if (plan?.sha256 === req.sha256 && plan.announcedAt === undefined)
        await o.store.writePlan({ ...plan, announcedAt: o.now() });
      return { ok: true };
    }
    // A hold from a leader of session 11 rides inside a `rollback` request.
    const hold = req.type === 'rollback-hold' ? req : legacyHold(req.request);
    return hold ? this.#rollback(hold.request, hold.gateMs) : this.#rollback(req.request);
  }

  /**
   * A `--rollback` run: held (told of it, kept for whoever leads next; the rollout it undoes is
   * forgotten) or returned to the previous artifact — once per run: asked again by a new leader,
   * a member that returned for it answers `already` and stays.
   */
  async #rollback(request: unknown, holdGateMs?: number): Promise<Answer> {
    const o = this.#o;
    const signed = request as SignedRollback;
    const verdict = verifyRollback(signed, o.publicKey as string, o.pool);
    if (!verdict.ok) return { ok: false, error: `rollback refused: ${verdict.detail}` };
    const id = rollbackId(signed.request);
    const kept = await o.store.rollbackNotice();
    await o.store.writePlan(null);
    if (holdGateMs !== undefined) {
      if (kept?.id !== id) await o.store.writeRollbackNotice({ signed, id, gateMs: holdGateMs });
      return { ok: true, held: id };
    }
    if (kept?.id === id && kept.returnedAt !== undefined) return { ok: true, already: true };
    const back = await o.store.rollback();
    if (!back) return { ok: false, error: 'no previous artifact to return to' };
    await o.store.writeTrial(null);
    const gateMs = kept?.id === id ? kept.gateMs : o.gateMs;
    await o.store.writeRollbackNotice({ signed, id, gateMs, returnedAt: o.now() });
    o.log('upgrade-rollback', { to: back, id });
    return { ok: true, restart: true, to: back };
  }

  /** Restarts into `current.mjs` once the answer that says so has gone out. */
  restartSelf(): void {
    this.#leaving = true;
    setTimeout(() => this.#o.restart(), 200).unref();
  }

  /** `rollback`: the last `--rollback` run it was told of, and when it returned for it. */
  async status(): Promise<MemberUpgradeStatus & { rollback: RollbackMark | null }> {
    const o = this.#o;
    const notice = await o.store.rollbackNotice();
    return {
      version: o.running.version,
      sha256: o.running.sha256,
      held: await o.store.held(),
      ready: o.ready(),
      last: await o.store.outcome(),
      trial: await o.store.openTrial(),
      rollback: notice ? { id: notice.id, ...(notice.returnedAt ? { returnedAt: notice.returnedAt } : {}) } : null,
    };
  }

  #stageOnce(signed: unknown, holders: string[]): Promise<Answer> {
    const sha = (signed as SignedManifest | null)?.manifest?.sha256;
    const key = typeof sha === 'string' ? sha : '';
    const pending = this.#staging.get(key);
    if (pending) return pending;
    const staging = this.#stage(signed, holders).finally(() => this.#staging.delete(key));
    this.#staging.set(key, staging);
    return staging;
  }

  async #stage(signed: unknown, holders: string[]): Promise<Answer> {
    const o = this.#o;
    // The signature first: nothing is fetched for a manifest the pool's key did not sign.
    const parsed = parseSignedManifest(signed);
    if (!parsed.ok) return { ok: false, error: `refused: ${signed ? parsed.detail : 'unsigned'}` };
    const claimed = verifyManifest(parsed.signed, o.publicKey as string, o.pool);
    if (!claimed.ok) return { ok: false, error: `refused: ${claimed.detail}` };
    const m = parsed.signed.manifest;
    if (await o.store.read(m.sha256)) return { ok: true, held: m.sha256 };
    let bytes: Buffer;
    try {
      const peers = holders.filter((p) => p !== o.selfPeerId);
      bytes = await pullFromPeers(m.sha256, {
        node: o.node,
        protocol: ARTIFACT_PROTOCOL,
        what: 'artifact',
        peers,
        maxBytes: o.maxBytes,
        timeout: 30_000,
      });
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
    const verdict = verifyArtifact(bytes, signed, o.publicKey as string, o.pool);
    if (!verdict.ok) return { ok: false, error: `refused: ${verdict.detail}` };
    await o.store.put(parsed.signed, bytes);
    o.log('upgrade-staged', { sha256: m.sha256, version: m.version, bytes: bytes.length });
    return { ok: true, held: m.sha256 };
  }

  async #activate(sha: string, gateMs?: number): Promise<Answer> {
    const o = this.#o;
    if (o.running.sha256 === sha) return { ok: true, running: sha };
    const [bytes, signed] = await Promise.all([o.store.read(sha), o.store.signed(sha)]);
    if (!bytes || !signed) return { ok: false, error: `artifact ${sha.slice(0, 12)} is not staged here` };
    // Checked again from disk: what restarts is exactly what the key signed.
    const verdict = verifyArtifact(bytes, signed, o.publicKey as string, o.pool);
    if (!verdict.ok) return { ok: false, error: `refused: ${verdict.detail}` };
    // The rollout's gate (a push's --gate, else the leader's tunable); from a leader older than the
    // field, the staged plan's, else this agent's own tunable.
    const plan = gateMs === undefined ? await o.store.plan() : null;
    const gate = gateMs ?? (plan?.sha256 === sha ? plan.gateMs : undefined) ?? o.gateMs;
    await o.store.activate(sha, o.running.file, gate, o.now());
    const pruned = await o.store.prune();
    if (pruned.length > 0) o.log('upgrade-pruned', { artifacts: pruned });
    o.log('upgrade-activated', { sha256: sha, version: verdict.manifest.version, from: o.running.file });
    return { ok: true, restart: true };
  }
}
