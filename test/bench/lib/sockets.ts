import { readFileSync } from 'node:fs';

/** "0100007F" (little-endian hex, as /proc/net/tcp prints it on x86) → "127.0.0.1". */
function ipOf(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
}

/**
 * Established TCP connections per local address, counted from outside the agents
 * (/proc/net/tcp): for each address in `ips`, the sockets bound to it with `port` at either end
 * (its listener's accepted connections and the ones it dialled from that address). A connection
 * between two agents counts once for each of them, as it does in each agent's own budget.
 */
export function connectionsPerAddress(ips: readonly string[], port: number): number[] {
  const count = new Map<string, number>(ips.map((ip) => [ip, 0]));
  let text = '';
  try {
    text = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return ips.map(() => 0);
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== '01') continue; // 01 = ESTABLISHED
    const [lip, lport] = (f[1] as string).split(':') as [string, string];
    const rport = Number.parseInt((f[2] as string).split(':')[1] as string, 16);
    const ip = ipOf(lip);
    const c = count.get(ip);
    if (c === undefined) continue;
    if (Number.parseInt(lport, 16) === port || rport === port) count.set(ip, c + 1);
  }
  return ips.map((ip) => count.get(ip) ?? 0);
}
