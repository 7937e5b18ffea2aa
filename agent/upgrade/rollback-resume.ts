import { rollbackId, type SignedRollback, verifyRollback } from '../../shared/upgrade/rollback.ts';
import type { UpgradeEvent } from '../../shared/wire/cluster.ts';
import type { Ask } from './ask.ts';
import { type FoundRollback, RollbackRun } from './rollback-leader.ts';
import { rollbackMarkOf } from './rollback-notice.ts';
import { LEADER_GATE_SLACK } from './rollout.ts';
import type { ArtifactStore } from './store.ts';

/** A run this old (ms since its request was signed) is not shown by a new leader, even as halted. */
const STALE_AFTER = 3_600_000;

export interface RollbackResumeOptions {
  store: ArtifactStore;
  pool?: string;
  publicKey?: string | undefined;
  self: { peerId: string; instanceId: string };
  members: () => Array<{ peerId: string; instanceId: string; alive: boolean; leftAt?: number }>;
  ask: Ask;
  now: () => number;
  log: (msg: string, fields: Record<string, unknown>) => void;
  emit?: (e: UpgradeEvent) => void;
}

/**
 * A new leader continues the `--rollback` run its predecessor drove (the run every member was
 * told of, rollback-notice.ts): members that returned for it are done, one that left within the
 * gate or is not ready is taken as returning on the earlier order (its gate decides), the others
 * are asked in turn — each returns once whoever asks (member.ts) — and this node goes last. The
 * request is verified again with this node's own key; one too old to verify is not continued:
 * the run shows as halted with why. One look per run: `#seen` holds the runs already looked at.
 */
export class RollbackResumer {
  readonly #o: RollbackResumeOptions;
  #seen: string | null = null;
  #run: RollbackRun | null = null;

  constructor(o: RollbackResumeOptions) {
    this.#o = o;
  }

  /** The run this leader drives, or shows finished; null when there is none. */
  get run(): RollbackRun | null {
    return this.#run;
  }

  /**
   * `poolparty upgrade --rollback` on this leader (the caller verified the request; members
   * verify it again). Idempotent per run: the CLI hands the same signed request to a new leader
   * when the one that took it is gone (cli/upgrade/resubmit.ts). A run this node drives or shows
   * is kept; one it was told of is continued as a new leader continues it; only an unknown run begins.
   */
  async submit(request: unknown, gateMs: number): Promise<'begun' | 'known'> {
    const id = rollbackId((request as SignedRollback).request);
    if (this.#run?.progress.id === id) return 'known';
    if ((await this.#o.store.rollbackNotice())?.id === id) {
      this.#seen = null;
      const found = await this.resume();
      if (this.#run?.progress.id === id) return 'known'; // a tick continued it meanwhile
      if (found) {
        this.#run = found;
        return 'known';
      }
    }
    this.#run = this.#begin(request, gateMs);
    return 'begun';
  }

  /** Newly leading with no run: continues the one this node was told of, if any. */
  async look(): Promise<void> {
    const found = await this.resume();
    this.#run ??= found;
  }

  #begin(request: unknown, gateMs: number): RollbackRun {
    const o = this.#o;
    const run = new RollbackRun({
      request,
      // Members that left are not returned: they are not there to answer.
      members: o.members().filter((m) => m.leftAt === undefined),
      self: o.self,
      gateMs,
      now: o.now(),
      hold: true,
      gone: (peer) => this.#gone(peer),
      ...(o.emit ? { emit: o.emit } : {}),
    });
    this.#seen = run.progress.id;
    o.log('upgrade-rollback-started', { members: run.progress.queue.length });
    return run;
  }

  /** A member no longer taking part: dead (not listed) or left (a member returning is `current`, not asked). */
  #gone(peerId: string): boolean {
    return !this.#o.members().some((m) => m.peerId === peerId && m.leftAt === undefined);
  }

  /** Forgets the run and what it looked at (leadership lost: a leadership won back looks again). */
  reset(): void {
    this.#seen = null;
    this.#run = null;
  }

  /** The run to drive (or to show, finished), or null when there is none to continue. */
  async resume(): Promise<RollbackRun | null> {
    const o = this.#o;
    const notice = await o.store.rollbackNotice();
    if (!notice || this.#seen === notice.id) return null;
    this.#seen = notice.id;
    const now = o.now();
    const recent = (m: { leftAt?: number }) =>
      m.leftAt !== undefined && now - m.leftAt <= notice.gateMs + LEADER_GATE_SLACK;
    const members = o.members().filter((m) => (m.alive && m.leftAt === undefined) || recent(m));
    const found: FoundRollback = { startedAt: now, queue: [], current: null, done: [] };
    for (const m of members) {
      const s = m.leftAt === undefined ? await o.ask(m.peerId, { type: 'status' }, 5000) : null;
      const mine = s ? rollbackMarkOf(s) : null;
      if (s?.ok && mine?.id === notice.id && mine.returnedAt !== undefined && s.ready === true)
        found.done.push(m.peerId);
      else if (!found.current && (m.leftAt !== undefined || (s?.ok && s.ready !== true)))
        found.current = { peerId: m.peerId, at: m.leftAt ?? now };
      else found.queue.push(m.peerId);
    }
    const verdict =
      o.publicKey && o.pool
        ? verifyRollback(notice.signed, o.publicKey, o.pool, now)
        : { ok: false as const, detail: 'no upgrade key' };
    const over = found.queue.length === 0 && found.current === null && notice.returnedAt !== undefined;
    o.log('upgrade-rollback-found', { id: notice.id, ...found, over, verified: verdict.ok });
    // Over and no longer verifiable: told complete by whoever ended it. An old one unfinished
    // (issued over an hour ago) is not shown either: a later run may have been cut short by it.
    const age = now - notice.signed.request.issuedAt;
    if (!verdict.ok && (over || age > STALE_AFTER)) return null;
    const run = new RollbackRun({
      request: notice.signed,
      members: members.map((m) => ({ peerId: m.peerId, instanceId: m.instanceId })),
      self: o.self,
      gateMs: notice.gateMs,
      now,
      found,
      hold: !over,
      gone: (peer) => this.#gone(peer),
      ...(o.emit && !over ? { emit: o.emit } : {}),
    });
    if (over) run.complete(now);
    else if (!verdict.ok)
      run.halt(
        o.self.peerId,
        `not continued by the new leader: ${verdict.detail}; run poolparty upgrade --rollback again`,
        now,
      );
    return run;
  }
}
