import type { MemberEvent, PoolEvent } from '../shared/wire/cluster.ts';

interface Held {
  event: MemberEvent | undefined;
  timer: unknown;
}

export type EventListener = (event: PoolEvent) => void;

export interface EventHubOptions {
  /**
   * Per-member coalescing window (ms). Default 1000. The first event of a member goes out at once;
   * further events of that member within the window are held and only the latest is delivered
   * when the window closes — so a flapping member produces at most two events per window.
   */
  coalesceWindow?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/**
 * Fans pool events out to subscribers (SSE clients, the log, metrics). A listener that throws is
 * isolated: it never stops delivery to others, nor the caller.
 */
export class EventHub {
  readonly #listeners = new Set<EventListener>();
  readonly #window: number;
  readonly #held = new Map<string, Held>();
  readonly #setTimer: (fn: () => void, ms: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;

  constructor(opts: EventHubOptions = {}) {
    this.#window = opts.coalesceWindow ?? 1000;
    this.#setTimer =
      opts.setTimer ??
      ((fn, ms) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return t;
      });
    this.#clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  emit(event: PoolEvent): void {
    // Only membership flaps are coalesced; leader and scaling events are rare and all matter.
    if (this.#window <= 0 || !isMemberEvent(event)) {
      this.#deliver(event);
      return;
    }
    const held = this.#held.get(event.peerId);
    if (held) {
      held.event = event;
      return;
    }
    this.#deliver(event);
    this.#open(event);
  }

  #open(delivered: MemberEvent): void {
    const key = delivered.peerId;
    const entry: Held = { event: undefined, timer: undefined };
    entry.timer = this.#setTimer(() => {
      this.#held.delete(key);
      // Only the net change matters: if the member ended the window where it started, say nothing.
      if (entry.event && entry.event.type !== delivered.type) {
        this.#deliver(entry.event);
        this.#open(entry.event);
      }
    }, this.#window);
    this.#held.set(key, entry);
  }

  /** Delivers held events now and cancels timers (on shutdown). */
  flush(): void {
    for (const [key, entry] of this.#held) {
      this.#clearTimer(entry.timer);
      this.#held.delete(key);
      if (entry.event) this.#deliver(entry.event);
    }
  }

  #deliver(event: PoolEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken subscriber must not take down membership handling.
      }
    }
  }
}

function isMemberEvent(event: PoolEvent): event is MemberEvent {
  return event.type.startsWith('member-');
}
