import type { AgentTunables } from '../../shared/config/tunables.ts';
import { ARTIFACT_PROTOCOL, UPGRADE_PROTOCOL, UPGRADE_PUSH_PROTOCOL } from '../../shared/upgrade/protocol.ts';
import { ownTimer, type Repeat } from '../beat.ts';
import { serveByHash } from '../content/by-hash.ts';
import type { Component } from '../lifecycle.ts';
import type { PoolNode } from '../p2p/node.ts';
import { UpgradeLeader, type UpgradeLeaderOptions } from './leader.ts';
import { UpgradeMember } from './member.ts';
import { acceptUpgradePush } from './push.ts';
import { isSupervised, requestRestart } from './restart.ts';
import { runningArtifact } from './running.ts';
import { ArtifactStore } from './store.ts';

export interface UpgradeServiceOptions
  extends Pick<UpgradeLeaderOptions, 'members' | 'now' | 'log' | 'emit' | 'acting'> {
  node: PoolNode;
  pool: string;
  dataDir: string;
  publicKey: string | undefined;
  selfPeerId: string;
  selfInstanceId: string;
  leading: () => boolean;
  leaderPeerId: () => string | null;
  ready: () => boolean;
  /** Stops this agent and starts `current.mjs`; default: restart.ts (SIGTERM to itself). */
  restart?: () => void;
  /** The agent's upgrade tunables; what a push leaves unset comes from here. */
  tunables: Pick<AgentTunables, 'upgradeGate' | 'maxArtifactBytes' | 'upgradeTick' | 'maxUnavailable'>;
  /** The tick's timer (agent/beat.ts); default its own, unref'd. */
  repeat?: Repeat;
}

/**
 * The upgrade component: every agent serves the artifacts it holds, answers the leader's
 * requests and, after a restart under trial, confirms its gate once ready; the leader also takes
 * pushes and runs the rollout. GET /upgrade reads `view()`.
 */
export class UpgradeService implements Component {
  readonly name = 'upgrade';
  readonly store: ArtifactStore;
  readonly member: UpgradeMember;
  readonly leader: UpgradeLeader;
  readonly #o: UpgradeServiceOptions;
  #cancel: (() => void) | undefined;

  constructor(o: UpgradeServiceOptions) {
    this.#o = o;
    this.store = new ArtifactStore(o.dataDir);
    this.member = new UpgradeMember({
      node: o.node,
      store: this.store,
      pool: o.pool,
      publicKey: o.publicKey,
      running: runningArtifact(),
      leader: o.leaderPeerId,
      selfPeerId: o.selfPeerId,
      ready: o.ready,
      maxBytes: o.tunables.maxArtifactBytes,
      gateMs: o.tunables.upgradeGate,
      now: o.now,
      restart: o.restart ?? requestRestart,
      log: o.log,
    });
    this.leader = new UpgradeLeader({ ...o, member: this.member, store: this.store });
  }

  async start(): Promise<void> {
    const { node } = this.#o;
    await node.handle(ARTIFACT_PROTOCOL, (s) => void serveByHash(s, (sha) => this.store.read(sha), 'artifact'), {
      maxInboundStreams: 4,
    });
    await node.handle(UPGRADE_PROTOCOL, (s, conn) => void this.member.handle(s, conn), { maxInboundStreams: 4 });
    await node.handle(
      UPGRADE_PUSH_PROTOCOL,
      (s, conn) =>
        void acceptUpgradePush(s, conn, {
          store: this.store,
          leader: this.leader,
          pool: this.#o.pool,
          publicKey: this.#o.publicKey,
          leading: this.#o.leading,
          leaderPeerId: this.#o.leaderPeerId,
          maxBytes: this.#o.tunables.maxArtifactBytes,
          gateMs: this.#o.tunables.upgradeGate,
          maxUnavailable: this.#o.tunables.maxUnavailable,
          log: this.#o.log,
        }),
      { maxInboundStreams: 2 },
    );
    const tick = () => void this.tick();
    this.#cancel = this.#o.repeat
      ? this.#o.repeat(this.#o.tunables.upgradeTick, tick)
      : ownTimer(this.#o.tunables.upgradeTick, tick, true);
  }

  async stop(): Promise<void> {
    this.#cancel?.();
    this.#cancel = undefined;
    await this.#o.node.unhandle([ARTIFACT_PROTOCOL, UPGRADE_PROTOCOL, UPGRADE_PUSH_PROTOCOL]).catch(() => undefined);
  }

  async tick(): Promise<void> {
    try {
      await this.#confirmTrial();
      await this.leader.tick();
    } catch (err) {
      this.#o.log('upgrade-tick-failed', { error: (err as Error).message });
    }
  }

  /**
   * After a restart into a new artifact: tells the supervisor this agent is ready (the gate
   * passes). A confirmed trial that nobody will record (this agent runs unsupervised: its
   * supervisor was killed after the confirmation, and systemd started current.mjs itself) is
   * recorded here, so its gate does not stay open for good (store.openTrial).
   */
  async #confirmTrial(): Promise<void> {
    const running = runningArtifact();
    if (!running.sha256 || !this.#o.ready()) return;
    const trial = await this.store.trial();
    if (!trial || trial.sha256 !== running.sha256) return;
    if (trial.confirmedAt === undefined) {
      await this.store.writeTrial({ ...trial, confirmedAt: this.#o.now() });
      this.#o.log('upgrade-ready', { sha256: running.sha256, version: running.version });
    } else if (!isSupervised() && (await this.store.openTrial()) === trial.sha256) {
      await this.store.writeOutcome({ sha256: trial.sha256, ok: true, at: this.#o.now() });
      await this.store.writeTrial(null);
      this.#o.log('upgrade-confirmed', { sha256: trial.sha256, unsupervised: true });
    }
  }

  /** GET /upgrade: what this node runs and holds, and on the leader the rollout. */
  async view() {
    const rollout = this.leader.rollout;
    return {
      self: await this.member.status(),
      keyConfigured: this.#o.publicKey !== undefined,
      rollout: rollout ? { ...rollout, leading: this.#o.leading() } : null,
      rollback: this.leader.rollback ? { ...this.leader.rollback.progress, leading: this.#o.leading() } : null,
      catchUp: this.leader.catchUp,
    };
  }
}
