import { createServer } from 'node:net';

/**
 * Loopback address allocation for the local provider: each local instance gets its own
 * 127.a.b.c so every agent can bind the same monitor and p2p ports, like separate machines.
 * Linux routes all of 127.0.0.0/8 to lo, so no interface setup is needed.
 */

export class AddressError extends Error {
  override name = 'AddressError';
}

export function parseLoopback(address: string): [number, number, number, number] {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts[0] !== 127 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new AddressError(`not a loopback IPv4 address: ${address}`);
  }
  return parts as [number, number, number, number];
}

/** The next address upward: c runs 1..254 (skipping network/broadcast-looking .0 and .255). */
export function nextLoopback(address: string): string | undefined {
  let [, a, b, c] = parseLoopback(address);
  c += 1;
  if (c > 254) {
    c = 1;
    b += 1;
    if (b > 255) {
      b = 0;
      a += 1;
      if (a > 255) return undefined;
    }
  }
  return `127.${a}.${b}.${c}`;
}

/** True when a TCP server can bind host:port right now (bound, then closed at once). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export interface AllocateOptions {
  first: string;
  count: number;
  /** Addresses already held (live instances), skipped without probing. */
  taken: ReadonlySet<string>;
  /** Ports that must all be free on a candidate address. */
  ports: readonly number[];
  /** Upper bound of candidates examined. */
  maxScan: number;
}

/** Picks `count` addresses from `first` upward that are not taken and have all `ports` free. */
export async function allocateAddresses(opts: AllocateOptions): Promise<string[]> {
  const chosen: string[] = [];
  let candidate: string | undefined = opts.first;
  for (let scanned = 0; chosen.length < opts.count && candidate !== undefined && scanned < opts.maxScan; scanned++) {
    if (!opts.taken.has(candidate)) {
      const host = candidate;
      const free = await Promise.all(opts.ports.map((p) => isPortFree(host, p)));
      if (free.every(Boolean)) chosen.push(candidate);
    }
    candidate = nextLoopback(candidate);
  }
  if (chosen.length < opts.count) {
    throw new AddressError(
      `found only ${chosen.length} of ${opts.count} free loopback addresses from ${opts.first} ` +
        `(ports ${opts.ports.join(', ')}; scanned ${opts.maxScan})`,
    );
  }
  return chosen;
}
