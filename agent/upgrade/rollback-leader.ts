import type { UpgradeRequest } from '../../shared/upgrade/protocol.ts';

type Ask = (peer: string, req: UpgradeRequest, timeout: number) => Promise<Record<string, unknown> & { ok: boolean }>;

export interface RollbackProgress {
  startedAt: number;
  /** Members still to return, in order (the leader is not among them: it goes last). */
  queue: string[];
  /** The member returning now, what it ran before, and since when. */
  current: { peerId: string; before: string | null; at: number } | null;
  done: string[];
  skipped: Array<{ peerId: string; why: string }>;
  halted?: { peerId: string; reason: string; at: number };
  completedAt?: number;
}

/**
 * `poolparty upgrade --rollback` on the leader: one member at a time returns to its previous
 * artifact (each verifies the signed request itself) and must come back ready on something else
 * than it ran within the gate, or the run halts; the leader goes last. A member with no previous
 * artifact is skipped.
 */
export class RollbackRun {
  #p: RollbackProgress;
  readonly #request: unknown;
  readonly #gateMs: number;

  constructor(request: unknown, members: string[], gateMs: number, now: number) {
    this.#request = request;
    this.#gateMs = gateMs;
    this.#p = { startedAt: now, queue: [...members].sort(), current: null, done: [], skipped: [] };
  }

  get progress(): RollbackProgress {
    return this.#p;
  }

  get finished(): boolean {
    return this.#p.completedAt !== undefined || this.#p.halted !== undefined;
  }

  /** One step; `self` returns when the others are done (its restart ends this run). */
  async step(ask: Ask, self: (request: unknown) => Promise<void>, now: () => number): Promise<void> {
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
      await self(this.#request);
      return;
    }
    const before = await ask(next, { type: 'status' }, 5000);
    const a = await ask(next, { type: 'rollback', request: this.#request }, 5000);
    if (a.ok) {
      const was = typeof before.sha256 === 'string' ? before.sha256 : null;
      this.#p = { ...p, queue: rest, current: { peerId: next, before: was, at: now() } };
    } else if (String(a.error).startsWith('no previous artifact')) {
      this.#p = { ...p, queue: rest, skipped: [...p.skipped, { peerId: next, why: String(a.error) }] };
    } else this.#p = { ...p, queue: rest, halted: { peerId: next, reason: String(a.error), at: now() } };
  }
}
