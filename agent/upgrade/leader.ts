import { peerIdFromString } from '@libp2p/peer-id';
import type { SignedManifest } from '../../shared/upgrade/manifest.ts';
import { type MemberUpgradeStatus, UPGRADE_PROTOCOL, type UpgradeRequest } from '../../shared/upgrade/protocol.ts';
import { FrameReader, line, sendAll } from '../../shared/wire/bundle-transfer.ts';
import type { PoolNode } from '../p2p/node.ts';
import type { UpgradeMember } from './member.ts';
import { RollbackRun } from './rollback-leader.ts';
import { type MemberObservation, markMember, planUpgrade, type UpgradeRollout } from './rollout.ts';

export interface UpgradeLeaderOptions {
  node: PoolNode;
  member: UpgradeMember;
  selfPeerId: string;
  selfInstanceId: string;
  leading: () => boolean;
  /** Members other than self that take part (alive or suspect), with the version in their record. */
  members: () => Array<{ peerId: string; instanceId: string; alive: boolean; version: string }>;
  now: () => number;
  log: (msg: string, fields: Record<string, unknown>) => void;
}

/** How long one request to a member may take (ms): staging includes fetching the artifact. */
const STAGE_TIMEOUT = 120_000;
const REQUEST_TIMEOUT = 5_000;

/**
 * The leader's rollout loop: each tick observes the members (their records and status answers),
 * lets the pure planner (rollout.ts) decide, and carries out its one step. One tick at a time.
 */
export class UpgradeLeader {
  readonly #o: UpgradeLeaderOptions;
  #rollout: UpgradeRollout | null = null;
  #signed: SignedManifest | null = null;
  #busy = false;
  #rollback: RollbackRun | null = null;

  constructor(o: UpgradeLeaderOptions) {
    this.#o = o;
  }

  get rollout(): UpgradeRollout | null {
    return this.#rollout;
  }

  get rollback(): RollbackRun | null {
    return this.#rollback;
  }

  /** `poolparty upgrade --rollback`: the caller verified the request; members verify it again. */
  beginRollback(request: unknown, gateMs: number): void {
    const o = this.#o;
    this.#rollback = new RollbackRun(
      request,
      o.members().map((m) => m.peerId),
      gateMs,
      o.now(),
    );
    o.log('upgrade-rollback-started', { members: this.#rollback.progress.queue.length });
  }

  /** In progress: neither complete nor halted. */
  inProgress(): UpgradeRollout | null {
    const r = this.#rollout;
    return r && !r.halted && !r.completedAt ? r : null;
  }

  begin(signed: SignedManifest, gateMs: number, maxUnavailable: number): void {
    const m = signed.manifest;
    this.#signed = signed;
    this.#rollout = {
      sha256: m.sha256,
      version: m.version,
      startedAt: this.#o.now(),
      gateMs,
      maxUnavailable,
      members: [{ peerId: this.#o.selfPeerId, instanceId: this.#o.selfInstanceId, phase: 'staged' }],
    };
    this.#o.log('upgrade-rollout-started', { sha256: m.sha256, version: m.version, gateMs, maxUnavailable });
  }

  async tick(): Promise<void> {
    const o = this.#o;
    if (this.#busy || !o.leading()) return;
    const run = this.#rollback && !this.#rollback.finished ? this.#rollback : null;
    const rollout = this.#rollout && !this.#rollout.halted && !this.#rollout.completedAt ? this.#rollout : null;
    if (!run && (!rollout || !this.#signed)) return;
    this.#busy = true;
    try {
      if (run) {
        const self = async (request: unknown) => {
          const a = await o.member.answer({ type: 'rollback', request }, o.selfPeerId);
          if (a.ok && a.restart === true) o.member.restartSelf();
        };
        await run.step((peer, req, timeout) => this.ask(peer, req, timeout), self, o.now);
      } else if (rollout && this.#signed) await this.#step(rollout, this.#signed);
    } finally {
      this.#busy = false;
    }
  }

  async #step(current: UpgradeRollout, signed: SignedManifest): Promise<void> {
    const o = this.#o;
    const watched = new Set(current.members.filter((m) => m.phase === 'restarting').map((m) => m.peerId));
    const seen: MemberObservation[] = await Promise.all(
      o.members().map(async (m) => {
        const status = watched.has(m.peerId) ? await this.#status(m.peerId) : undefined;
        return { ...m, ...(status ? { status } : {}) };
      }),
    );
    const { rollout, step } = planUpgrade(current, seen, o.selfPeerId, o.now());
    let r = rollout;
    if (r.halted && !current.halted) o.log('upgrade-rollout-halted', { ...r.halted });
    if (step.kind === 'stage') {
      const answers = await Promise.all(
        step.peers.map(
          async (peer) =>
            [peer, await this.ask(peer, { type: 'stage', signed, holders: step.holders }, STAGE_TIMEOUT)] as const,
        ),
      );
      for (const [peer, a] of answers) {
        if (a.ok) r = markMember(r, peer, 'staged', o.now());
        // A member that refuses what the leader verified has another key, or was handed other bytes: halt.
        else if (String(a.error).startsWith('refused')) r = markMember(r, peer, 'failed', o.now(), String(a.error));
        else o.log('upgrade-stage-retry', { peer, error: a.error });
      }
    } else if (step.kind === 'activate') {
      for (const peer of step.peers) {
        const a = await this.ask(peer, { type: 'activate', sha256: r.sha256 }, REQUEST_TIMEOUT);
        r = a.ok ? markMember(r, peer, 'restarting', o.now()) : markMember(r, peer, 'failed', o.now(), String(a.error));
      }
    } else if (step.kind === 'activate-self') {
      // Last: this restart hands leadership over (the graceful leave), and the gate guards it.
      r = markMember(r, o.selfPeerId, 'restarting', o.now());
      this.#rollout = r;
      o.log('upgrade-rollout-leader-last', { sha256: r.sha256 });
      const a = await o.member.answer({ type: 'activate', sha256: r.sha256 }, o.selfPeerId);
      if (a.ok && a.restart === true) o.member.restartSelf();
      else r = markMember(r, o.selfPeerId, 'failed', o.now(), String(a.error));
    } else if (step.kind === 'done' && !current.completedAt) {
      o.log('upgrade-rollout-complete', { sha256: r.sha256, members: r.members.length });
    }
    this.#rollout = r;
  }

  async #status(peer: string): Promise<MemberObservation['status'] | undefined> {
    const a = await this.ask(peer, { type: 'status' }, REQUEST_TIMEOUT);
    if (!a.ok) return undefined;
    const s = a as unknown as MemberUpgradeStatus;
    return { sha256: s.sha256, ready: s.ready === true, last: s.last };
  }

  /** One request to a member; a failure to reach it is an answer too (`ok: false`). */
  async ask(peer: string, req: UpgradeRequest, timeout: number): Promise<Record<string, unknown> & { ok: boolean }> {
    const o = this.#o;
    if (peer === o.selfPeerId) return o.member.answer(req, o.selfPeerId);
    try {
      const signal = AbortSignal.timeout(timeout);
      const stream = await o.node.dialProtocol(peerIdFromString(peer), UPGRADE_PROTOCOL, { signal });
      await sendAll(stream, line(req as unknown as Record<string, unknown>));
      const answer = await new FrameReader(stream).header();
      await stream.close().catch(() => undefined);
      return { ...answer, ok: answer.ok === true };
    } catch (err) {
      return { ok: false, error: `unreachable: ${(err as Error).message}` };
    }
  }
}
