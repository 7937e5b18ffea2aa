import type { MetricMap } from '../../shared/wire/metrics.ts';

/**
 * Every member's latest metrics as this node knows them: from load reports (on the leader) or
 * from the leader's summary (on followers). Pure; bounded by `max` members.
 */
export interface LoadEntry {
  metrics: MetricMap;
  /** When the metrics were sampled, on this node's clock (ms). */
  at: number;
  /** The leader term the member said it follows (0 from a summary). */
  term: number;
}

export class LoadBook {
  readonly #entries = new Map<string, LoadEntry>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  report(peer: string, entry: LoadEntry): void {
    const cur = this.#entries.get(peer);
    if (cur && cur.at > entry.at) return;
    if (!cur && this.#entries.size >= this.#max) return;
    this.#entries.set(peer, entry);
  }

  get(peer: string): LoadEntry | undefined {
    return this.#entries.get(peer);
  }

  forget(peer: string): void {
    this.#entries.delete(peer);
  }

  /** Peers whose report in the last `within` ms named `term`: the leader's lease acknowledgements. */
  ackers(term: number, now: number, within: number): string[] {
    const out: string[] = [];
    for (const [peer, e] of this.#entries) if (e.term === term && now - e.at <= within) out.push(peer);
    return out;
  }

  entries(): IterableIterator<[string, LoadEntry]> {
    return this.#entries.entries();
  }
}

/** How often the leader publishes its summary for a pool of `n`: the bytes per member stay flat. */
export function summaryInterval(n: number, min: number, perMember: number): number {
  return Math.max(min, n * perMember);
}
