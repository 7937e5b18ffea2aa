import type { DecisionRecord } from './deps.ts';

/** A record as the scaler writes it: the cloud is added, and the count defaults to the last one. */
export type DecisionDraft = Omit<DecisionRecord, 'cloud' | 'instances'> & { instances?: number };

/** Decisions kept for GET /scaling. */
const KEPT = 50;

/**
 * A cloud's recent scaling decisions (bounded), each also handed to `onDecision`. A repeated
 * "nothing to do" is kept once, until its reason changes or an action happens.
 */
export class DecisionLog {
  readonly #decisions: DecisionRecord[] = [];
  readonly #cloud: string;
  readonly #counted: () => number | null;
  readonly #onDecision: (d: DecisionRecord) => void;
  #lastNone = '';

  constructor(cloud: string, counted: () => number | null, onDecision: (d: DecisionRecord) => void) {
    this.#cloud = cloud;
    this.#counted = counted;
    this.#onDecision = onDecision;
  }

  record(r: DecisionDraft): void {
    const record: DecisionRecord = { ...r, cloud: this.#cloud, instances: r.instances ?? this.#counted() ?? 0 };
    this.#decisions.push(record);
    if (this.#decisions.length > KEPT) this.#decisions.shift();
    this.#onDecision(record);
  }

  /** Records `r` unless the last such record had the same `key`. */
  recordOnChange(key: string, r: DecisionDraft): void {
    if (key === this.#lastNone) return;
    this.#lastNone = key;
    this.record(r);
  }

  /** After an action, the next "nothing to do" is worth recording even if it says the same. */
  rearm(): void {
    this.#lastNone = '';
  }

  list(): DecisionRecord[] {
    return [...this.#decisions];
  }
}
