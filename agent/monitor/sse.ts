import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { MonitorEvent } from '../../shared/wire/cluster.ts';
import type { MonitorSource } from './source.ts';

export interface EventStreamOptions {
  /** How often a comment line is sent so proxies and clients keep an idle stream open (ms). Default 15 000. */
  keepAliveMs?: number;
  /**
   * Most messages queued for one client that has not read them yet. Past this the client is
   * disconnected: a stalled reader must not make the agent buffer events without bound. Default 1 000.
   */
  maxPending?: number;
}

export const DEFAULT_KEEP_ALIVE_MS = 15_000;
export const DEFAULT_MAX_PENDING = 1_000;

/** One SSE message. `data` is JSON on one line, so no multi-line `data:` splitting is needed. */
export function formatSseMessage(event: string, data: unknown): string {
  if (/[\r\n]/.test(event)) throw new Error(`SSE event name must be one line, got ${JSON.stringify(event)}`);
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** GET /events: a `hello` with the current cluster view, then every pool event (and pool sample) as it happens. */
export function eventStreamHandler(source: MonitorSource, opts: EventStreamOptions = {}) {
  const keepAliveMs = opts.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  const maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;

  return function eventStream(c: Context): Response {
    // Read before the stream opens so a failing source is a plain 500, not a 200 that dies.
    const hello = formatSseMessage('hello', source.cluster());

    return streamSSE(c, async (stream) => {
      let pending = 0;
      // stream.write hands the bytes to the writer synchronously, so messages keep call order
      // (hello first) even though nothing here awaits them; it never rejects.
      const send = (text: string): void => {
        if (stream.aborted || stream.closed) return;
        if (pending >= maxPending) {
          stream.abort();
          return;
        }
        pending++;
        void stream.write(text).then(() => {
          pending--;
        });
      };

      const done = new Promise<void>((resolve) => {
        stream.onAbort(resolve);
        if (c.req.raw.signal.aborted) resolve();
        c.req.raw.signal.addEventListener('abort', () => resolve(), { once: true });
      });

      send(hello);
      const unsubscribe = source.subscribe((event: MonitorEvent) => send(formatSseMessage(event.type, event)));
      const keepAlive = setInterval(() => send(': ping\n\n'), keepAliveMs);
      try {
        await done;
      } finally {
        clearInterval(keepAlive);
        unsubscribe();
      }
    });
  };
}
