/**
 * How long the end of a new neighbour edge with the larger peer id waits before it dials the
 * other (ms). Both ends of a new ring edge learn it from the same membership change and dialled
 * each other in the same round: with both handshakes in flight neither found the other's
 * connection, and both were kept (keepConnections counts peers), so the pair held two TCP
 * connections, each with its own noise handshake, identify and gossipsub subscriptions (issue 13:
 * "≤ 16 connections per agent" counts TCP connections). Now the smaller peer id dials at once and
 * the larger one only if no connection to the peer came within this. Longer than the smaller
 * end's dial usually takes plus the usual skew between two members learning one change (on a
 * starved machine keepConnections lets that dial run DIAL_MS, 20 s, so the larger end may dial
 * too; duplicates.ts closes the probe-only duplicate that then arises); shorter than anything waiting on the edge: the observer's probes dial their subject
 * themselves, so only the subject's side of an edge the other end does not see yet waits this
 * (and MAINTAIN_MS more at most). Longer: fewer duplicates under load, edges seen by one end form
 * later; shorter: the reverse. Default 5000.
 */
export const DIAL_DEFER_MS = 5_000;

/**
 * Which wanted peers may be dialled now: the smaller peer id of a pair at once, the larger one
 * after `deferMs` of the peer being wanted and not connected. Pure: the caller says which peers
 * are waiting in each round.
 */
export class DialOrder {
  readonly #since = new Map<string, number>();

  constructor(
    private readonly self: string,
    private readonly deferMs = DIAL_DEFER_MS,
  ) {}

  /** Whether to dial `peer` (wanted, not connected, not being dialled) now. */
  due(peer: string, now: number): boolean {
    if (this.self < peer) return true;
    const since = this.#since.get(peer);
    if (since === undefined) this.#since.set(peer, now);
    return since !== undefined && now - since >= this.deferMs;
  }

  /** Forgets every peer but `waiting` (those connected now, or no longer wanted, start over). */
  retain(waiting: ReadonlySet<string>): void {
    for (const id of this.#since.keys()) if (!waiting.has(id)) this.#since.delete(id);
  }

  /** Peers whose wait is running. */
  get size(): number {
    return this.#since.size;
  }
}
