import { isIPv4, isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HealthView } from '../wire/cluster.ts';
import type { SshHostRecord } from './ssh-state.ts';

/** Small helpers of the ssh remoter base: addresses, health probes, paths, a deferred. */

export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // observed through allSettled
  return { promise, resolve, reject };
}

/** The address other agents dial: the host itself (an IPv4 literal, or a DNS name). */
export function dialAddress(h: SshHostRecord, peerId: string): string {
  const proto = isIPv4(h.host) ? 'ip4' : isIPv6(h.host) ? 'ip6' : 'dns4';
  return `/${proto}/${h.host}/tcp/${h.p2pPort}/p2p/${peerId}`;
}

export function urlHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

export async function fetchHealth(monitor: string, timeout: number): Promise<HealthView | undefined> {
  try {
    const res = await fetch(`${monitor}/health`, { signal: AbortSignal.timeout(timeout) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as HealthView;
    return body?.status === 'ok' ? body : undefined;
  } catch {
    return undefined;
  }
}

export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : resolve(path);
}
