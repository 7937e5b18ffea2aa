import type { UpgradeRequest } from '../../shared/upgrade/protocol.ts';
import { ROLLBACK_VERSION, rollbackId, type SignedRollback } from '../../shared/upgrade/rollback.ts';
import type { UpgradeEvent } from '../../shared/wire/cluster.ts';
import { type RollbackProgress, rollbackEvents } from './events.ts';

type Ask = (peer: string, req: UpgradeRequest, timeout: number) => Promise<Record<string, unknown> & { ok: boolean }>;

/**
 * `poolparty upgrade --rollback` on the leader: one member at a time returns to its previous
 * artifact (each verifies the signed request itself) and must come back ready on something else
 * than it ran within the gate, or the run halts; the leader goes last. A member with no previous
 * artifact is skipped.
 */
export class RollbackRun {
  #p: RollbackProgress;
  #told: RollbackProgress;
  readonly #request: unknown;
  readonly #gateMs: number;
  readonly #who: { self: string; instanceOf: (peerId: string) => string };
  readonly #emit: (e: UpgradeEvent) => void;

  /** `members`: the others (the leader is `self`); the request was verified by the caller. */
  constructor(o: {
    request: unknown;
    members: Array<{ peerId: string; instanceId: string }>;
    self: { peerId: string; instanceId: string };
    gateMs: number;
    now: number;
    emit?: (e: UpgradeEvent) => void;
  }) {
    this.#request = o.request;
    this.#gateMs = o.gateMs;
    const names = new Map([...o.members, o.self].map((m) => [m.peerId, m.instanceId]));
    this.#who = { self: o.self.peerId, instanceOf: (p) => names.get(p) ?? p };
    this.#emit = o.emit ?? (() => undefined);
    const id = rollbackId((o.request as SignedRollback).request);
    const queue = o.members.map((m) => m.peerId).sort();
    this.#p = { id, startedAt: o.now, queue, current: null, done: [], skipped: [] };
    this.#told = this.#p;
    const members = queue.length + 1;
    this.#emit({ type: 'upgrade-started', sha: id, version: ROLLBACK_VERSION, members, resumed: false, at: o.now });
  }

  get progress(): RollbackProgress {
    return this.#p;
  }

  get finished(): boolean {
    return this.#p.completedAt !== undefined || this.#p.halted !== undefined;
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

  async #step(ask: Ask, self: (request: unknown) => Promise<void>, now: () => number): Promise<void> {
    const p = this.#p;
    if (this.finished) return;
    if (p.current) {
      const s = await ask(p.current.peerId, { type: 'status' }, 5000);
      if (s.ok && s.ready === true && s.sha256 !== p.current.before) {
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
    if (next === undefined) {
      this.#p = { ...p, completedAt: now() };
      this.#tell(now()); // before this node's restart cuts its event stream
      await self(this.#request);
      return;
    }
    const before = await ask(next, { type: 'status' }, 5000);
    const a = await ask(next, { type: 'rollback', request: this.#request }, 5000);
    if (a.ok) {
      const was = typeof before.sha256 === 'string' ? before.sha256 : null;
      this.#p = { ...p, queue: rest, current: { peerId: next, before: was, at: now() } };
    } else if (a.retry === true) {
      return; // says nothing of this member (it follows another leader): asked again next tick
    } else if (String(a.error).startsWith('no previous artifact')) {
      this.#p = { ...p, queue: rest, skipped: [...p.skipped, { peerId: next, why: String(a.error) }] };
    } else this.#p = { ...p, queue: rest, halted: { peerId: next, reason: String(a.error), at: now() } };
  }
}
