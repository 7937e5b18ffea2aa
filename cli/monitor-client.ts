import type { ClusterView, LeaderDetail, PoolEvent, ScalingDecision } from '../shared/wire/cluster.ts';
import type { BundleState, RolloutAnnouncement } from '../shared/wire/heartbeat.ts';
import { POOL_EVENT_GROUPS } from '../shared/wire/pool-event-types.ts';

/** A monitor that did not answer as expected. */
export class MonitorError extends Error {
  override name = 'MonitorError';
}

/**
 * The pool events the CLI's stream reader keeps: every name agents stream on GET /events (from
 * shared/wire/pool-event-types.ts), so a new event type reaches the CLI without an edit here.
 */
const POOL_EVENTS: ReadonlySet<string> = new Set(Object.keys(POOL_EVENT_GROUPS));

/** GET /leader: the leader a node follows; `self` when that node leads. */
export interface LeaderInfo extends LeaderDetail {
  self: boolean;
}

/**
 * GET /scaling as the CLI reads it. The scaler's other fields (rules, cooldowns, pending
 * intents) are kept as they come, for --json.
 */
export interface ScalingView {
  leader: LeaderDetail | null;
  /** False when the node runs no scaler (its config has no scaling block). */
  enabled: boolean;
  cloud?: string;
  leading?: boolean;
  bounds?: { min: number; max: number };
  instances?: number | null;
  rules?: Record<'expand' | 'contract', { text: string; holds: boolean } | null>;
  /** Oldest first; only the leader records decisions. */
  decisions?: ScalingDecision[];
  /** Every cloud's scaler (the leader scales each cloud of the pool), the agent's own included. */
  clouds?: Record<string, ScalingCloudView>;
  [more: string]: unknown;
}

/** One cloud's scaler in GET /scaling's `clouds`. */
export interface ScalingCloudView {
  cloud: string;
  leading: boolean;
  bounds: { min: number; max: number };
  instances: number | null;
  rules: Record<'expand' | 'contract', { text: string; holds: boolean } | null>;
  decisions: ScalingDecision[];
  [more: string]: unknown;
}

/** GET /bundle: a node's configuration state; `rollout`/`progress` as the node knows them (progress: leader only). */
export interface BundleView {
  peerId: string;
  /** sha256 of the bundle applied successfully, or null. */
  applied: string | null;
  /** The bundle being fetched, applied, or that failed, or null. */
  target: string | null;
  state: BundleState;
  error: string | null;
  report: { ok: boolean; stage: string; resolver: string | null; verifiers: unknown[]; error?: string } | null;
  rollout: RolloutAnnouncement | null;
  progress: { done: string[]; inProgress: string[]; pending: string[]; complete: boolean } | null;
}

async function getJson<T>(url: string, timeoutMs: number, notFound?: () => T): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new MonitorError(`${url}: ${describeFetchError(err)}`);
  }
  if (res.status === 404 && notFound) {
    await res.body?.cancel();
    return notFound();
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

/** The leader `monitor` follows, or null when none is elected yet (404). */
export function fetchLeader(monitor: string, timeoutMs = 2000): Promise<LeaderInfo | null> {
  return getJson<LeaderInfo | null>(`${monitor.replace(/\/$/, '')}/leader`, timeoutMs, () => null);
}

/** The node's scaler state; null when the node has no /scaling (an agent older than scaling). */
export function fetchScaling(monitor: string, timeoutMs = 2000): Promise<ScalingView | null> {
  return getJson<ScalingView | null>(`${monitor.replace(/\/$/, '')}/scaling`, timeoutMs, () => null);
}

/** The node's configuration state; null when the node has no /bundle (an agent older than bundles). */
export function fetchBundle(monitor: string, timeoutMs = 2000): Promise<BundleView | null> {
  return getJson<BundleView | null>(`${monitor.replace(/\/$/, '')}/bundle`, timeoutMs, () => null);
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
 * Reads GET /events (SSE) and calls `onEvent` for each pool event (every type of
 * shared/wire/pool-event-types.ts); `hello`, `pool-sample`, unknown events and comments are skipped. Resolves when the stream ends or
 * `signal` aborts; rejects if it cannot connect.
 */
export async function followEvents(
  monitor: string,
  onEvent: (event: PoolEvent) => void,
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

/** One SSE message → a pool event, or undefined for anything else. */
export function parseSseBlock(block: string): PoolEvent | undefined {
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
  if (!POOL_EVENTS.has(name) || data.length === 0) return undefined;
  try {
    const event = JSON.parse(data.join('\n')) as PoolEvent | null;
    return event !== null && typeof event === 'object' && event.type === name ? event : undefined;
  } catch {
    return undefined;
  }
}

function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
