import { ownTimer, type Repeat } from './beat.ts';

/**
 * One lifecycle for every long-lived part of an agent (as js-libp2p's Startable): a component
 * owns its timers, sockets and handlers, and stop releases exactly what start took. The
 * composition root starts components in order and stops the started ones in reverse.
 */
export interface Component {
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

export class Lifecycle {
  readonly #started: Component[] = [];
  readonly #onError: (name: string, err: Error) => void;

  constructor(onError: (name: string, err: Error) => void) {
    this.#onError = onError;
  }

  /** Starts each in order; if one fails, those already started are stopped and the error rethrown. */
  async start(components: readonly Component[]): Promise<void> {
    for (const c of components) {
      try {
        await c.start();
      } catch (err) {
        await this.stop();
        throw err;
      }
      this.#started.push(c);
    }
  }

  /** Stops the started components in reverse order; one failing does not keep the others running. */
  async stop(): Promise<void> {
    while (this.#started.length > 0) {
      const c = this.#started.pop() as Component;
      try {
        await c.stop();
      } catch (err) {
        this.#onError(c.name, err as Error);
      }
    }
  }
}

/**
 * A component that runs `fn` every `ms` (on its own timer, or on `repeat`'s: the agent's beat); an
 * error (or rejection) is reported, never thrown.
 */
export function ticker(
  name: string,
  ms: number,
  fn: () => unknown,
  onError: (name: string, err: Error) => void,
  repeat: Repeat = ownTimer,
): Component {
  let cancel: (() => void) | undefined;
  const run = () => {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((err: Error) => onError(name, err));
    } catch (err) {
      onError(name, err as Error);
    }
  };
  return {
    name,
    start: () => {
      cancel = repeat(ms, run);
    },
    stop: () => {
      cancel?.();
      cancel = undefined;
    },
  };
}

/** A component from two functions (for parts whose start/stop take arguments or have other names). */
export function component(name: string, start: Component['start'], stop: Component['stop']): Component {
  return { name, start, stop };
}
