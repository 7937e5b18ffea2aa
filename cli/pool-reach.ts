import type { Forward } from './ssh-tunnel.ts';

/**
 * How the CLI reaches a pool's monitors and libp2p listeners. The pool announces addresses as its
 * members see each other; directly they are used as they are, through an SSH node each one
 * becomes a loopback listener of a tunnel that leads to it from inside the pool.
 */
export interface PoolReach {
  /** `user@host:port` of the SSH node when traffic is tunnelled; undefined when direct. */
  readonly via?: string;
  /** A monitor URL as the pool announces it → a URL this process can fetch. */
  monitor(url: string): Promise<string>;
  /** A member's announced libp2p addresses → addresses this process can dial (non-TCP ones dropped). */
  p2p(addrs: string[]): Promise<string[]>;
  close(): Promise<void>;
}

export const DIRECT: PoolReach = {
  monitor: async (url) => url,
  p2p: async (addrs) => addrs,
  close: async () => {},
};

/** What a tunnelled reach needs of a tunnel (SshTunnel; a fake in unit tests). */
export interface Forwarder {
  readonly via: string;
  forward(host: string, port: number): Promise<Forward>;
  close(): Promise<void>;
}

/** host and port an http(s) monitor URL leads to (IPv6 without brackets). */
export function urlTarget(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * host and TCP port of `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/…]`, and what follows them
 * (e.g. `/p2p/<id>`); undefined for other transports.
 */
export function tcpTarget(addr: string): { host: string; port: number; rest: string } | undefined {
  const m = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d+)(\/.*)?$/.exec(addr);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: m[2] as string, port, rest: m[4] ?? '' };
}

/** A reach whose every monitor and libp2p address goes through `tunnel`. */
export function tunnelReach(tunnel: Forwarder): PoolReach {
  return {
    via: tunnel.via,
    async monitor(url) {
      const { host, port } = urlTarget(url);
      const f = await tunnel.forward(host, port);
      const path = new URL(url).pathname.replace(/\/$/, '');
      return `http://${f.localHost}:${f.localPort}${path}`;
    },
    async p2p(addrs) {
      const out: string[] = [];
      for (const addr of addrs) {
        const t = tcpTarget(addr);
        if (!t) continue;
        const f = await tunnel.forward(t.host, t.port);
        out.push(`/ip4/${f.localHost}/tcp/${f.localPort}${t.rest}`);
      }
      return out;
    },
    close: () => tunnel.close(),
  };
}
