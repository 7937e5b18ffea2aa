import type { ReadableStreamReadResult } from 'node:stream/web';
import { createAgentMetrics } from '../agent/monitor/prom.ts';
import type { MonitorSource } from '../agent/monitor/source.ts';
import type { ClusterView, PoolEvent } from '../shared/wire/cluster.ts';

/** A plain-object MonitorSource whose subscribers can be counted and fed events by a test. */
export function fakeSource() {
  const listeners = new Set<(event: PoolEvent) => void>();
  const metrics = createAgentMetrics({ membersByState: () => ({ alive: 2, suspect: 1, dead: 0, left: 0 }) });
  const cluster: ClusterView = {
    pool: 'web',
    self: 'peer-a',
    leader: { peerId: 'peer-a', term: 3 },
    members: [
      {
        peerId: 'peer-a',
        instanceId: 'local-1',
        cloud: 'local',
        state: 'alive',
        addrs: ['/ip4/127.0.0.2/tcp/8643'],
        monitor: 'http://127.0.0.2:8642',
        lastSeenMs: 0,
        startedAt: 1_700_000_000_000,
        version: '0.1.0',
        metrics: { load: 0.5, cpu: null },
      },
    ],
  };
  const source: MonitorSource = {
    health: () => ({ status: 'ok', peerId: 'peer-a', instanceId: 'local-1', uptimeS: 12 }),
    stats: () => ({
      peerId: 'peer-a',
      instanceId: 'local-1',
      cloud: 'local',
      metrics: { load: { value: 0.5, sampledAt: 1_700_000_000_000 } },
    }),
    cluster: () => cluster,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    registry: metrics.registry,
  };
  const emit = (event: PoolEvent): void => {
    for (const listener of listeners) listener(event);
  };
  return { source, listeners, emit, cluster, metrics };
}

export interface SseMessage {
  event?: string;
  data?: string;
  comment?: string;
}

/** Reads SSE messages from a byte stream, one blank-line-terminated block at a time. */
export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  /** The next message; fails (instead of hanging the file) if none arrives within timeoutMs. */
  async next(timeoutMs = 10_000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return parseBlock(block);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE message within ${timeoutMs} ms; buffered: ${JSON.stringify(this.buffer)}`);
      const chunk = await this.read(left, `no SSE message within ${timeoutMs} ms`);
      if (chunk.done) throw new Error(`SSE stream ended; buffered: ${JSON.stringify(this.buffer)}`);
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  private async read(ms: number, message: string): Promise<ReadableStreamReadResult<Uint8Array>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    });
    return Promise.race([this.reader.read(), timeout]).finally(() => clearTimeout(timer));
  }

  /** Skips keep-alive comments. */
  async nextEvent(timeoutMs = 10_000): Promise<SseMessage> {
    for (let i = 0; i < 1_000; i++) {
      const msg = await this.next(timeoutMs);
      if (msg.comment === undefined) return msg;
    }
    throw new Error('only keep-alive comments received');
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }

  /** Reads until the stream ends; resolves to true if it ended, rejects on timeout. */
  async drain(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const message = `SSE stream still open after ${timeoutMs} ms`;
    for (let left = timeoutMs; left > 0; left = deadline - Date.now()) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await this.read(left, message);
      } catch (err) {
        if ((err as Error).message === message) throw err;
        return true; // connection cut: ended too
      }
      if (chunk.done) return true;
    }
    throw new Error(message);
  }
}

function parseBlock(block: string): SseMessage {
  const msg: SseMessage = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) msg.comment = line.slice(1).trim();
    else if (line.startsWith('event: ')) msg.event = line.slice('event: '.length);
    else if (line.startsWith('data: '))
      msg.data = msg.data === undefined ? line.slice(6) : `${msg.data}\n${line.slice(6)}`;
  }
  return msg;
}
