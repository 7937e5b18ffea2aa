import type { SignedManifest } from '../../shared/upgrade/manifest.ts';
import type { RolloutPlan } from '../../shared/upgrade/protocol.ts';
import type { UpgradeEvent } from '../../shared/wire/cluster.ts';
import { type Ask, REQUEST_TIMEOUT, STAGE_TIMEOUT, statusOf } from './ask.ts';
import {
  type CatchUpState,
  type CatchUpStep,
  type CatchUpVerdict,
  planCatchUp,
  refused,
  startCatchUp,
  taken,
  verdictOf,
} from './catch-up.ts';
import { stageRefusalHalts } from './refusal.ts';
import type { MemberObservation, UpgradeRollout } from './rollout.ts';
import { runningArtifact } from './running.ts';
import type { ArtifactStore } from './store.ts';

export interface CatchUpOptions {
  store: ArtifactStore;
  selfPeerId: string;
  /** The other members, as the leader's rollout sees them (leader.ts). */
  members: () => Array<Omit<MemberObservation, 'status'>>;
  ask: Ask;
  now: () => number;
  log: (msg: string, fields: Record<string, unknown>) => void;
  emit?: (e: UpgradeEvent) => void;
  /** What this node runs (default: running.ts, the file this process was started from). */
  running?: () => { sha256: string | null };
}

/** How often a member that may still change (on its install, unknown) is asked its status again (ms). */
export const CATCH_UP_RESCAN = 10_000;
/** Verdicts that change only with a restart (seen as left or not alive): not asked again meanwhile. */
const SETTLED: readonly CatchUpVerdict[] = ['target', 'other-artifact', 'newer-install'];

interface Known {
  status: NonNullable<MemberObservation['status']>;
  version: string;
  at: number;
  settled: boolean;
}

/**
 * The leader's catch-up (catch-up.ts decides): while this node leads, runs the signed artifact T
 * of a rollout that completed (in its memory, or noted in its plan: `announcedAt`) with its own
 * gate over, and no `--rollback` came after, it takes members on their install to T. The leader
 * ticks it only when no rollout or rollback is in progress or halted (leader.ts).
 */
export class CatchUp {
  readonly #o: CatchUpOptions;
  #state: CatchUpState | null = null;
  #source: { key: string; signed: SignedManifest } | null = null;
  readonly #known = new Map<string, Known>();
  /** Members on T told that the rollout was announced (so any of them leading next catches up too). */
  readonly #told = new Set<string>();

  constructor(o: CatchUpOptions) {
    this.#o = o;
  }

  /** GET /upgrade: the target, whom it takes now, where it halted, and its verdict per member asked. */
  get view() {
    const s = this.#state;
    if (!s) return null;
    const verdict = ([peerId, k]: [string, Known]) =>
      [
        peerId,
        verdictOf({ peerId, instanceId: '', alive: true, version: k.version, status: k.status }, s.target),
      ] as const;
    const { current, failures, retryAt, halted } = s;
    return {
      ...s.target,
      current,
      failures,
      retryAt,
      halted: halted ?? null,
      members: Object.fromEntries([...this.#known].map(verdict)),
    };
  }

  /** Leadership lost (or a new rollout): forgets everything; a leadership won back looks again. */
  reset(): void {
    this.#state = null;
    this.#source = null;
    this.#known.clear();
    this.#told.clear();
  }

  /** `rollout`: the leader's rollout in memory (none, or complete and not halted, or it does nothing). */
  async tick(rollout: UpgradeRollout | null): Promise<void> {
    const o = this.#o;
    const found = await this.#target(rollout);
    if (!found) {
      if (this.#state) o.log('upgrade-catch-up-stopped', { sha256: this.#state.target.sha256 });
      return this.reset();
    }
    const { plan, signed } = found;
    if (this.#state?.target.sha256 !== plan.sha256 || this.#state.target.startedAt !== plan.startedAt) {
      this.reset();
      this.#source = { key: found.key, signed };
      const { sha256, version, gateMs, startedAt } = plan;
      this.#state = startCatchUp({ sha256, version, gateMs, startedAt });
      o.log('upgrade-catch-up-watching', { sha256, version });
    }
    if (this.#state?.halted) return;
    const now = o.now();
    const seen = await this.#observe(this.#state as CatchUpState, plan, now);
    const planned = planCatchUp(this.#state as CatchUpState, seen, o.selfPeerId, now);
    this.#apply(planned.state, planned.events);
    if (planned.step.kind === 'take') await this.#take(planned.step, signed, plan);
  }

  /** What to catch up to, or null: the conditions above, checked every tick (small files, cached plan). */
  async #target(rollout: UpgradeRollout | null) {
    const o = this.#o;
    const sha = (o.running ?? runningArtifact)().sha256;
    if (!sha) return null;
    if (rollout && (rollout.sha256 !== sha || rollout.completedAt === undefined || rollout.halted)) return null;
    const plan = await o.store.plan();
    if (plan?.sha256 !== sha) return null;
    if (plan.announcedAt === undefined && rollout?.completedAt === undefined) return null;
    if ((await o.store.openTrial()) !== null) return null;
    const notice = await o.store.rollbackNotice();
    if (notice && notice.signed.request.issuedAt >= plan.startedAt) return null;
    const key = `${sha}:${plan.startedAt}`;
    if (this.#source?.key === key) return { key, plan, signed: this.#source.signed };
    const signed = await o.store.signed(sha);
    if (!signed || !(await o.store.held()).includes(sha)) return null;
    return { key, plan, signed };
  }

  /** Every member, with a status answer: fresh for the one restarting, cached while it cannot change. */
  async #observe(s: CatchUpState, plan: RolloutPlan, now: number): Promise<MemberObservation[]> {
    const o = this.#o;
    const members = o.members();
    for (const peer of this.#known.keys()) if (!members.some((m) => m.peerId === peer)) this.#known.delete(peer);
    return Promise.all(
      members.map(async (m) => {
        if (!m.alive || m.leftAt !== undefined) {
          this.#known.delete(m.peerId);
          return m;
        }
        const k = this.#known.get(m.peerId);
        const fresh = k && k.version === m.version && (k.settled || now - k.at < CATCH_UP_RESCAN);
        if (fresh && s.current?.peerId !== m.peerId) return { ...m, status: k.status };
        const status = statusOf(await o.ask(m.peerId, { type: 'status' }, REQUEST_TIMEOUT));
        if (!status) return m;
        const verdict = verdictOf({ ...m, status }, s.target);
        this.#known.set(m.peerId, { status, version: m.version, at: now, settled: SETTLED.includes(verdict) });
        if (verdict === 'target' && plan.announcedAt !== undefined && !this.#told.has(m.peerId)) {
          this.#told.add(m.peerId);
          void o.ask(m.peerId, { type: 'announced', sha256: plan.sha256 }, REQUEST_TIMEOUT).catch(() => undefined);
        }
        return { ...m, status };
      }),
    );
  }

  /** Stages T on the member (from members on T first), then tells it to restart into it under the gate. */
  async #take(step: Extract<CatchUpStep, { kind: 'take' }>, signed: SignedManifest, plan: RolloutPlan): Promise<void> {
    const o = this.#o;
    const who = { peerId: step.peerId, instanceId: step.instanceId };
    o.log('upgrade-catch-up-take', { ...who, sha256: plan.sha256, version: plan.version });
    // The plan goes along (with its completion note): a member brought to T catches up others should it lead.
    const stage = { type: 'stage' as const, signed, holders: step.holders, rollout: plan };
    const staged = await o.ask(step.peerId, stage, STAGE_TIMEOUT);
    if (!staged.ok) return this.#refused(who, String(staged.error), stageRefusalHalts(staged));
    const a = await o.ask(step.peerId, { type: 'activate', sha256: plan.sha256, gateMs: plan.gateMs }, REQUEST_TIMEOUT);
    if (!a.ok || a.restart !== true)
      return this.#refused(who, String(a.error ?? 'it did not restart'), !a.ok && a.retry !== true);
    this.#known.delete(step.peerId);
    if (this.#state) this.#apply(...spread(taken(this.#state, who, o.now())));
  }

  #refused(who: { peerId: string; instanceId: string }, reason: string, halts: boolean): void {
    this.#o.log('upgrade-catch-up-failed', { ...who, reason, halts });
    if (this.#state) this.#apply(...spread(refused(this.#state, who, reason, halts, this.#o.now())));
  }

  #apply(state: CatchUpState, events: UpgradeEvent[]): void {
    if (state.halted && !this.#state?.halted) this.#o.log('upgrade-catch-up-halted', { ...state.halted });
    this.#state = state;
    for (const e of events) this.#o.emit?.(e);
  }
}

const spread = (r: { state: CatchUpState; events: UpgradeEvent[] }) => [r.state, r.events] as const;
