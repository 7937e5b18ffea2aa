import type { ClusterView, MemberEvent } from '../shared/wire/cluster.ts';

/** A monitor that did not answer as expected. */
export class MonitorError extends Error {
  override name = 'MonitorError';
}

const MEMBER_EVENTS = new Set([
  'member-joined',
  'member-suspect',
  'member-dead',
  'member-left',
  'member-recovered',
  'member-removed',
]);

async function getJson<T>(url: string, timeoutMs: number): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new MonitorError(`${url}: ${describeFetchError(err)}`);
  }
  if (!res.ok) throw new MonitorError(`${url}: HTTP ${res.status}`);
  try {
    return (await res.json()) as T;
  } catch {
    throw new MonitorError(`${url}: response is not JSON`);
  }
}

export function fetchCluster(monitor: string, timeoutMs = 2000): Promise<ClusterView> {
  return getJson<ClusterView>(`${monitor.replace(/\/$/, '')}/cluster`, timeoutMs);
}

export async function isHealthy(monitor: string, timeoutMs = 1000): Promise<boolean> {
  try {
    await getJson(`${monitor.replace(/\/$/, '')}/health`, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads GET /events (SSE) and calls `onEvent` for each membership event; other events (hello)
 * and comments are skipped. Resolves when the stream ends or `signal` aborts; rejects if it
 * cannot connect.
 */
export async function followEvents(
  monitor: string,
  onEvent: (event: MemberEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const url = `${monitor.replace(/\/$/, '')}/events`;
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { accept: 'text/event-stream' } });
  } catch (err) {
    if (signal.aborted) return;
    throw new MonitorError(`${url}: ${describeFetchError(err)}`);
  }
  if (!res.ok || !res.body) throw new MonitorError(`${url}: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true }).replaceAll('\r\n', '\n');
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseSseBlock(block);
        if (event) onEvent(event);
      }
    }
  } catch (err) {
    if (!signal.aborted) throw new MonitorError(`${url}: ${describeFetchError(err)}`);
  }
}

/** One SSE message → a membership event, or undefined for anything else. */
export function parseSseBlock(block: string): MemberEvent | undefined {
  let name = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  if (!MEMBER_EVENTS.has(name) || data.length === 0) return undefined;
  try {
    const event = JSON.parse(data.join('\n')) as MemberEvent;
    return MEMBER_EVENTS.has(event.type) ? event : undefined;
  } catch {
    return undefined;
  }
}

function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
