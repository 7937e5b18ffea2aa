import { ROLLBACK_VERSION, rollbackId, type SignedRollback } from '../../shared/upgrade/rollback.ts';
import type { UpgradeEvent } from '../../shared/wire/cluster.ts';
import type { Ask } from './ask.ts';
import { type RollbackProgress, rollbackEvents } from './events.ts';
import { rollbackMarkOf } from './rollback-notice.ts';

/** Where a new leader found a run its predecessor drove (rollback-resume.ts). */
export interface FoundRollback {
  startedAt: number;
  queue: string[];
  current: { peerId: string; at: number } | null;
  done: string[];
}

/**
 * `poolparty upgrade --rollback` on the leader: one member at a time returns to its previous
 * artifact (each verifies the signed request itself) and must come back ready on something else
 * than it ran within the gate, or the run halts; the leader goes last. A member with no previous
 * artifact is skipped. With `hold`, every member is first told of the run (it keeps it: a new
 * leader continues from it, `found`), as every member stages before an upgrade restarts anyone.
 */
export class RollbackRun {
  #p: RollbackProgress;
  #told: RollbackProgress;
  readonly #request: unknown;
  readonly #gateMs: number;
  readonly #who: { self: string; instanceOf: (peerId: string) => string };
  readonly #emit: (e: UpgradeEvent) => void;
  readonly #gone: (peerId: string) => boolean;
  /** Members (this node too) still to be told of the run before anyone returns. */
  #unheld: string[];

  /** `members`: the others (the leader is `self`); the request was verified by the caller. */
  constructor(o: {
    request: unknown;
    members: Array<{ peerId: string; instanceId: string }>;
    self: { peerId: string; instanceId: string };
    gateMs: number;
    now: number;
    emit?: (e: UpgradeEvent) => void;
    hold?: boolean;
    found?: FoundRollback;
    /** Whether a member is no longer in the pool (dead, or left): skipped, not waited for. */
    gone?: (peerId: string) => boolean;
  }) {
    this.#request = o.request;
    this.#gateMs = o.gateMs;
    const names = new Map([...o.members, o.self].map((m) => [m.peerId, m.instanceId]));
    this.#who = { self: o.self.peerId, instanceOf: (p) => names.get(p) ?? p };
    this.#emit = o.emit ?? (() => undefined);
    this.#gone = o.gone ?? (() => false);
    const id = rollbackId((o.request as SignedRollback).request);
    const queue = o.members.map((m) => m.peerId).sort();
    const f = o.found;
    this.#p = f
      ? {
          id,
          startedAt: f.startedAt,
          queue: [...f.queue].sort(),
          current: f.current && { ...f.current, before: null },
          done: f.done,
          skipped: [],
        }
      : { id, startedAt: o.now, queue, current: null, done: [], skipped: [] };
    this.#told = this.#p;
    this.#unheld = o.hold ? [...this.#p.queue, o.self.peerId] : [];
    const members = o.members.length + 1;
    this.#emit({ type: 'upgrade-started', sha: id, version: ROLLBACK_VERSION, members, resumed: !!f, at: o.now });
  }

  get progress(): RollbackProgress {
    return this.#p;
  }

  get finished(): boolean {
    return this.#p.completedAt !== undefined || this.#p.halted !== undefined;
  }

  /** Ends the run here, told once (a run a new leader may not continue: where and why). */
  halt(peerId: string, reason: string, now: number): void {
    if (this.finished) return;
    this.#p = { ...this.#p, halted: { peerId, reason, at: now } };
    this.#tell(now);
  }

  /** Found over on taking over (every member returned): shown complete, told nobody again. */
  complete(now: number): void {
    if (!this.finished) this.#p = { ...this.#p, completedAt: now };
    this.#told = this.#p;
  }

  /** One step, told on the event stream; `self` returns when the others are done (its restart ends this run). */
  async step(ask: Ask, self: (request: unknown) => Promise<void>, now: () => number): Promise<void> {
    try {
      await this.#step(ask, self, now);
    } finally {
      this.#tell(now());
    }
  }

  /** What changed since last told, on the event stream. */
  #tell(now: number): void {
    for (const e of rollbackEvents(this.#told, this.#p, this.#who, now)) this.#emit(e);
    this.#told = this.#p;
  }

  /**
   * Tells every member of the run (idempotent): refused without judging the request (not reached,
   * follows another leader) it is asked again, until the gate has passed since the start.
   */
  async #hold(ask: Ask, now: () => number): Promise<void> {
    const req = { type: 'rollback-hold' as const, request: this.#request, gateMs: this.#gateMs };
    const answers = await Promise.all(this.#unheld.map(async (peer) => [peer, await ask(peer, req, 5000)] as const));
    this.#unheld = answers.flatMap(([peer, a]) => (!a.ok && a.retry === true ? [peer] : []));
    if (now() > this.#p.startedAt + this.#gateMs) this.#unheld = [];
  }

  async #step(ask: Ask, self: (request: unknown) => Promise<void>, now: () => number): Promise<void> {
    if (this.finished) return;
    if (this.#unheld.length > 0) return this.#hold(ask, now);
    const p = this.#p;
    if (p.current) {
      const s = await ask(p.current.peerId, { type: 'status' }, 5000);
      const mark = rollbackMarkOf(s);
      const back = p.current.before !== null && s.sha256 !== p.current.before;
      if (s.ok && s.ready === true && (back || (mark?.id === p.id && mark.returnedAt !== undefined))) {
        this.#p = { ...p, current: null, done: [...p.done, p.current.peerId] };
      } else if (now() > p.current.at + this.#gateMs) {
        this.#p = {
          ...p,
          halted: { peerId: p.current.peerId, reason: 'not back and ready within the gate', at: now() },
        };
      }
      return;
    }
    const [next, ...rest] = p.queue;
    // Lost meanwhile (its replacement is launched on what the pool returns to, local-rollback-target.ts).
    if (next !== undefined && this.#gone(next)) {
      this.#p = { ...p, queue: rest, skipped: [...p.skipped, { peerId: next, why: 'gone from the pool' }] };
      return;
    }
    if (next === undefined) {
      this.#p = { ...p, completedAt: now() };
      this.#tell(now()); // before this node's restart cuts its event stream
      await self(this.#request);
      return;
    }
    const before = await ask(next, { type: 'status' }, 5000);
    const a = await ask(next, { type: 'rollback', request: this.#request }, 5000);
    if (a.ok && a.already === true) {
      this.#p = { ...p, queue: rest, done: [...p.done, next] }; // returned for this run on an earlier leader's order
    } else if (a.ok) {
      const was = typeof before.sha256 === 'string' ? before.sha256 : null;
      this.#p = { ...p, queue: rest, current: { peerId: next, before: was, at: now() } };
    } else if (a.retry === true) {
      return; // says nothing of this member (it follows another leader): asked again next tick
    } else if (String(a.error).startsWith('no previous artifact')) {
      this.#p = { ...p, queue: rest, skipped: [...p.skipped, { peerId: next, why: String(a.error) }] };
    } else this.#p = { ...p, queue: rest, halted: { peerId: next, reason: String(a.error), at: now() } };
  }
}
