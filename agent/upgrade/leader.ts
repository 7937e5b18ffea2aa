import type { SignedManifest } from '../../shared/upgrade/manifest.ts';
import type { UpgradeEvent } from '../../shared/wire/cluster.ts';
import type { PoolNode } from '../p2p/node.ts';
import { noteAnnounced } from './announce.ts';
import { askMember, type MemberRequest, REQUEST_TIMEOUT, STAGE_TIMEOUT, statusOf } from './ask.ts';
import { CatchUp } from './catch-up-driver.ts';
import { rolloutEvents, startedEvent } from './events.ts';
import type { UpgradeMember } from './member.ts';
import { stageRefusalHalts } from './refusal.ts';
import { completedAtTakeover, resumable, resumeRollout } from './resume.ts';
import type { RollbackRun } from './rollback-leader.ts';
import { RollbackResumer } from './rollback-resume.ts';
import {
  type MemberObservation,
  markMember,
  planOf,
  planUpgrade,
  startRollout,
  type UpgradeRollout,
} from './rollout.ts';
import type { ArtifactStore } from './store.ts';

export interface UpgradeLeaderOptions {
  node: PoolNode;
  member: UpgradeMember;
  /** This node's store: the plan it staged for, which a new leader continues. */
  store: ArtifactStore;
  selfPeerId: string;
  selfInstanceId: string;
  leading: () => boolean;
  /** Leads and holds its quorum lease: a node that thinks it leads without it does not drive (default: leading). */
  acting?: () => boolean;
  /**
   * Members other than self that take part (alive or suspect) or left (with when: perhaps
   * restarting), with the version in their record.
   */
  members: () => Array<{ peerId: string; instanceId: string; alive: boolean; version: string; leftAt?: number }>;
  now: () => number;
  log: (msg: string, fields: Record<string, unknown>) => void;
  /** The rollout's progress on the live event stream (GET /events). */
  emit?: (e: UpgradeEvent) => void;
  /** What a new leader verifies a `--rollback` run with before continuing it (rollback-resume.ts). */
  pool?: string;
  publicKey?: string | undefined;
}

/**
 * The leader's rollout loop: each tick observes the members (their records and status answers),
 * lets the pure planner (rollout.ts) decide, and carries out its one step. One tick at a time.
 */
export class UpgradeLeader {
  readonly #o: UpgradeLeaderOptions;
  #rollout: UpgradeRollout | null = null;
  #signed: SignedManifest | null = null;
  #busy = false;
  /** A plan on disk this leader looked at and will not continue (too old, artifact gone). */
  #declined: string | null = null;
  /** `--rollback` runs: started here, or continued from one a leader before this one drove. */
  readonly #rollbacks: RollbackResumer;
  /** Members launched on their install after a rollout completed, taken to what the pool runs. */
  readonly #catchUp: CatchUp;

  constructor(o: UpgradeLeaderOptions) {
    this.#o = o;
    const self = { peerId: o.selfPeerId, instanceId: o.selfInstanceId };
    this.#rollbacks = new RollbackResumer({ ...o, self, ask: (p, r, t) => this.ask(p, r, t) });
    this.#catchUp = new CatchUp({ ...o, ask: (p, r, t) => this.ask(p, r, t) });
  }

  get catchUp() {
    return this.#catchUp.view;
  }

  get rollout(): UpgradeRollout | null {
    return this.#rollout;
  }

  get rollback(): RollbackRun | null {
    return this.#rollbacks.run;
  }

  /** `poolparty upgrade --rollback` (verified by the caller), idempotent per run (rollback-resume.ts). */
  beginRollback(request: unknown, gateMs: number): Promise<'begun' | 'known'> {
    return this.#rollbacks.submit(request, gateMs);
  }

  /** In progress: neither complete nor halted. */
  inProgress(): UpgradeRollout | null {
    const r = this.#rollout;
    return r && !r.halted && !r.completedAt ? r : null;
  }

  /**
   * A push (verified by the caller). Idempotent per artifact: the same push handed again (the CLI
   * does, when the leader that took it is gone) continues what this node staged for.
   */
  async begin(signed: SignedManifest, gateMs: number, maxUnavailable: number): Promise<'begun' | 'continued'> {
    const o = this.#o;
    const m = signed.manifest;
    const plan = await o.store.plan();
    if (plan?.sha256 === m.sha256 && resumable(plan, o.now())) {
      this.#rollout = null;
      this.#declined = null;
      await this.#resume();
      if (this.rollout?.sha256 === m.sha256) return 'continued'; // the getter: #resume set it
    }
    const { sha256, trial } = await o.member.status();
    const self = { peerId: o.selfPeerId, instanceId: o.selfInstanceId, runsTarget: sha256 === m.sha256, trial };
    const r = startRollout(m, self, { gateMs, maxUnavailable, now: o.now() });
    this.#signed = signed;
    this.#rollout = r;
    this.#catchUp.reset();
    // The leader keeps the plan too: should it lose leadership and win it back, it continues.
    await o.store.writePlan(planOf(r));
    o.log('upgrade-rollout-started', { sha256: m.sha256, version: m.version, gateMs, maxUnavailable });
    const members = 1 + o.members().filter((m) => m.leftAt === undefined).length;
    o.emit?.(startedEvent(r, members, false, r.startedAt));
    return 'begun';
  }

  async tick(): Promise<void> {
    const o = this.#o;
    if (this.#busy) return;
    if (!o.leading()) return this.#handOver();
    if (o.acting && !o.acting()) return;
    this.#busy = true;
    try {
      // A run of `--rollback` first: it forgot every member's plan, so no rollout it undid resumes.
      if (!this.#rollout && !this.#rollbacks.run) await this.#rollbacks.look();
      if (!this.#rollout && !this.#rollbacks.run) await this.#resume();
      const run = this.#rollbacks.run?.finished === false ? this.#rollbacks.run : null;
      const rollout = this.#rollout && !this.#rollout.halted && !this.#rollout.completedAt ? this.#rollout : null;
      if (run) {
        const self = async (request: unknown) => {
          const a = await o.member.answer({ type: 'rollback', request }, o.selfPeerId);
          if (a.ok && a.restart === true) o.member.restartSelf();
        };
        await run.step((peer, req, timeout) => this.ask(peer, req, timeout), self, o.now);
      } else if (rollout && this.#signed) await this.#step(rollout, this.#signed);
      else if (!this.#rollbacks.run) await this.#catchUp.tick(this.#rollout);
    } finally {
      this.#busy = false;
    }
  }

  /**
   * No longer leading: the rollout is the next leader's, which continues it from the members'
   * plans and status. Forgotten here, so two leaders never drive it at once, and a leadership won
   * back starts again from what the members say rather than from what this node remembered.
   */
  #handOver(): void {
    const r = this.inProgress();
    if (r) this.#o.log('upgrade-rollout-handed-over', { sha256: r.sha256 });
    this.#rollout = null;
    this.#signed = null;
    this.#declined = null;
    this.#rollbacks.reset();
    this.#catchUp.reset();
  }

  /** Newly leading: continues the rollout this node staged for, if there is one to continue. */
  async #resume(): Promise<void> {
    const o = this.#o;
    const plan = await o.store.plan();
    if (!plan) return;
    const key = `${plan.sha256}:${plan.startedAt}`;
    if (this.#declined === key) return;
    const signed = await o.store.signed(plan.sha256);
    const why = !resumable(plan, o.now())
      ? 'it started too long ago: push again'
      : !signed || !(await o.store.read(plan.sha256))
        ? 'this node no longer holds the artifact'
        : null;
    if (why || !signed) {
      this.#declined = key;
      o.log('upgrade-rollout-not-continued', { sha256: plan.sha256, why });
      return;
    }
    const self = await o.member.status();
    const seen = await this.#observe(() => true);
    const me = { peerId: o.selfPeerId, instanceId: o.selfInstanceId, runsTarget: self.sha256 === plan.sha256 };
    const found = resumeRollout(plan, { ...me, last: self.last, trial: self.trial }, seen, o.now());
    const { rollout } = planUpgrade(found, [...seen, this.#selfSeen(self)], o.selfPeerId, o.now());
    if (this.#rollout) return; // a push began one meanwhile
    this.#signed = signed;
    this.#rollout = rollout;
    const phases = Object.fromEntries(rollout.members.map((m) => [m.instanceId, m.phase]));
    o.log('upgrade-rollout-continued', { sha256: plan.sha256, phases, halted: rollout.halted?.reason ?? null });
    // Halted: the leader before said so when it halted. Complete: usually by the leader before
    // coming back from its own restart, which nobody announced (resume.ts).
    const outcomes = [self.last, ...seen.map((m) => m.status?.last ?? null)];
    const announce = plan.announcedAt === undefined && completedAtTakeover(plan, outcomes, o.now());
    if (rollout.completedAt !== undefined && !rollout.halted && announce) {
      o.log('upgrade-rollout-complete', { sha256: rollout.sha256, members: rollout.members.length });
      this.#tell({ ...rollout, completedAt: undefined }, rollout);
      this.#announced(rollout.sha256);
    }
    if (!rollout.halted && rollout.completedAt === undefined)
      o.emit?.(startedEvent(rollout, rollout.members.length, true, o.now()));
  }

  /** The leader's own observation (planUpgrade counts it done once its own gate is over). */
  #selfSeen(s: Awaited<ReturnType<UpgradeMember['status']>>): MemberObservation {
    const status = statusOf({ ok: true, ...s }) as MemberObservation['status'];
    return { peerId: this.#o.selfPeerId, instanceId: this.#o.selfInstanceId, alive: true, version: s.version, status };
  }

  /** Every member's record, with a status answer from those `ask` picks (not from members that left). */
  #observe(ask: (peerId: string) => boolean): Promise<MemberObservation[]> {
    return Promise.all(
      this.#o.members().map(async (m) => {
        const status = m.leftAt === undefined && ask(m.peerId) ? await this.#status(m.peerId) : undefined;
        return { ...m, ...(status ? { status } : {}) };
      }),
    );
  }

  async #step(current: UpgradeRollout, signed: SignedManifest): Promise<void> {
    const o = this.#o;
    const watched = new Set(current.members.filter((m) => m.phase === 'restarting').map((m) => m.peerId));
    const seen = [...(await this.#observe((peer) => watched.has(peer))), this.#selfSeen(await o.member.status())];
    const { rollout, step } = planUpgrade(current, seen, o.selfPeerId, o.now());
    let r = rollout;
    let told = current;
    if (r.halted && !current.halted) o.log('upgrade-rollout-halted', { ...r.halted });
    const plan = planOf(r);
    if (step.kind === 'stage') {
      const answers = await Promise.all(
        step.peers.map(
          async (peer) =>
            [
              peer,
              await this.ask(peer, { type: 'stage', signed, holders: step.holders, rollout: plan }, STAGE_TIMEOUT),
            ] as const,
        ),
      );
      for (const [peer, a] of answers) {
        if (a.ok) r = markMember(r, peer, 'staged', o.now());
        // A member with another key, or none, or handed other bytes refuses for ever: halt (refusal.ts).
        else if (stageRefusalHalts(a)) r = markMember(r, peer, 'failed', o.now(), String(a.error));
        else o.log('upgrade-stage-retry', { peer, error: a.error });
      }
    } else if (step.kind === 'activate') {
      for (const peer of step.peers) {
        const a = await this.ask(peer, { type: 'activate', sha256: r.sha256, gateMs: r.gateMs }, REQUEST_TIMEOUT);
        // Asked again next tick: if it did restart, it is down meanwhile and then on the target.
        if (!a.ok && a.retry === true) o.log('upgrade-activate-retry', { peer, error: a.error });
        else
          r = a.ok
            ? markMember(r, peer, 'restarting', o.now())
            : markMember(r, peer, 'failed', o.now(), String(a.error));
      }
    } else if (step.kind === 'activate-self') {
      // Last: this restart hands leadership over (the graceful leave), and the gate guards it.
      r = markMember(r, o.selfPeerId, 'restarting', o.now());
      this.#rollout = r;
      this.#tell(told, r);
      told = r;
      o.log('upgrade-rollout-leader-last', { sha256: r.sha256 });
      const a = await o.member.answer({ type: 'activate', sha256: r.sha256, gateMs: r.gateMs }, o.selfPeerId);
      if (a.ok && a.restart === true) o.member.restartSelf();
      else r = markMember(r, o.selfPeerId, 'failed', o.now(), String(a.error));
    } else if (step.kind === 'done' && !current.completedAt) {
      o.log('upgrade-rollout-complete', { sha256: r.sha256, members: r.members.length });
      this.#announced(r.sha256);
    }
    // A push that began another rollout meanwhile (this one had ended) wins.
    if (this.#rollout !== current && this.#rollout !== told) return;
    this.#tell(told, r);
    this.#rollout = r;
  }

  #tell(before: UpgradeRollout, after: UpgradeRollout): void {
    for (const e of rolloutEvents(before, after, this.#o.now())) this.#o.emit?.(e);
  }

  async #status(peer: string): Promise<MemberObservation['status'] | undefined> {
    return statusOf(await this.ask(peer, { type: 'status' }, REQUEST_TIMEOUT));
  }

  /** One request to a member (this node's own member answers in process); unreachable is `ok: false`. */
  async ask(peer: string, req: MemberRequest, timeout: number): Promise<Record<string, unknown> & { ok: boolean }> {
    const o = this.#o;
    return peer === o.selfPeerId ? o.member.answer(req, o.selfPeerId) : askMember(o.node, peer, req, timeout);
  }

  /** `upgrade-complete` went out: every member notes it, so a later leader does not repeat it. */
  #announced(sha256: string): void {
    const peers = [this.#o.selfPeerId, ...this.#o.members().flatMap((m) => (m.leftAt === undefined ? [m.peerId] : []))];
    void noteAnnounced(sha256, peers, (p, req, t) => this.ask(p, req, t));
  }
}
