import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpTarget, tunnelReach, urlTarget } from '../cli/pool-reach.ts';
import { SshTunnel, type TunnelEvent } from '../cli/ssh-tunnel.ts';
import { KnownHosts } from '../shared/provision/known-hosts.ts';
import { randomLoopbackBase } from './fixtures/procs.ts';
import { canRunSshd, freePort, generateKey, Sshd } from './fixtures/sshd.ts';

describe('pool reach: addresses as the pool announces them', () => {
  it('reads host and port of monitor URLs and TCP multiaddrs', () => {
    expect(urlTarget('http://10.0.1.11:8642')).toEqual({ host: '10.0.1.11', port: 8642 });
    expect(urlTarget('http://[fd00::5]:8642/')).toEqual({ host: 'fd00::5', port: 8642 });
    expect(urlTarget('http://app.internal')).toEqual({ host: 'app.internal', port: 80 });
    expect(tcpTarget('/ip4/10.0.1.11/tcp/8643')).toEqual({ host: '10.0.1.11', port: 8643, rest: '' });
    expect(tcpTarget('/dns4/a.example/tcp/8643/p2p/12D3KooX')).toEqual({
      host: 'a.example',
      port: 8643,
      rest: '/p2p/12D3KooX',
    });
    expect(tcpTarget('/ip6/::1/tcp/8643')).toMatchObject({ host: '::1', port: 8643 });
    expect(tcpTarget('/ip4/10.0.1.11/udp/8643/quic-v1')).toBeUndefined();
    expect(tcpTarget('/ip4/10.0.1.11/tcp/70000')).toBeUndefined();
  });

  it('maps every monitor and TCP address to the loopback end of a forward', async () => {
    const asked: string[] = [];
    let port = 40000;
    const reach = tunnelReach({
      via: 'root@h:22',
      forward: async (host, p) => {
        asked.push(`${host}:${p}`);
        return { localHost: '127.0.0.1', localPort: port++, remoteHost: host, remotePort: p };
      },
      close: async () => {},
    });
    expect(reach.via).toBe('root@h:22');
    expect(await reach.monitor('http://10.0.1.12:8642/')).toBe('http://127.0.0.1:40000');
    expect(
      await reach.p2p(['/ip4/10.0.1.12/tcp/8643', '/ip4/10.0.1.12/udp/9/quic-v1', '/ip6/fd00::1/tcp/8643/p2p/X']),
    ).toEqual(['/ip4/127.0.0.1/tcp/40001', '/ip4/127.0.0.1/tcp/40002/p2p/X']);
    expect(asked).toEqual(['10.0.1.12:8642', '10.0.1.12:8643', 'fd00::1:8643']);
  });
});

const root = await canRunSshd();

/** A real sshd and an HTTP server only "behind" it (on the same loopback address, another port). */
describe.skipIf(!root)('SshTunnel (real sshd)', () => {
  let dir: string;
  let sshd: Sshd;
  let keyFile: string;
  let http: Server;
  let httpPort: number;
  const host = randomLoopbackBase();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-tunnel-'));
    const key = await generateKey(dir, 'user_key');
    keyFile = key.keyFile;
    sshd = await Sshd.start(host, [key.publicKey]);
    httpPort = await freePort(host);
    http = createServer((req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((resolve) => http.listen(httpPort, host, resolve));
  });

  afterAll(async () => {
    http?.closeAllConnections();
    await new Promise((resolve) => http?.close(resolve));
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const open = (events: TunnelEvent[]) =>
    SshTunnel.open({
      host,
      port: sshd.port,
      user: 'root',
      keyFile,
      knownHosts: new KnownHosts(join(dir, 'known_hosts')),
      timeouts: { waitTimeout: 10_000 },
      onTunnel: (e) => events.push(e),
    });

  it('relays HTTP to a remote port, reports a refused target once, and closes its listeners', async () => {
    const events: TunnelEvent[] = [];
    const tunnel = await open(events);
    let closed = false;
    try {
      expect(tunnel.via).toBe(`root@${host}:${sshd.port}`);
      const f = await tunnel.forward(host, httpPort);
      expect(f).toMatchObject({ localHost: '127.0.0.1', remoteHost: host, remotePort: httpPort });
      expect(await tunnel.forward(host, httpPort)).toEqual(f); // one listener per target
      for (const path of ['/a', '/b']) {
        const res = await fetch(`http://127.0.0.1:${f.localPort}${path}`, { signal: AbortSignal.timeout(5000) });
        expect(await res.text()).toBe(`hello ${path}`);
      }
      expect(events).toEqual([{ type: 'forward', forward: f, via: tunnel.via }]);

      const closedPort = await freePort(host);
      const dead = await tunnel.forward(host, closedPort);
      for (let i = 0; i < 2; i++) {
        await expect(
          fetch(`http://127.0.0.1:${dead.localPort}/`, { signal: AbortSignal.timeout(5000) }),
        ).rejects.toThrow();
      }
      const failures = events.filter((e) => e.type === 'forward-failed');
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ remoteHost: host, remotePort: closedPort });
      expect((failures[0] as { error: string }).error).toContain(`cannot open a tunnel to ${host}:${closedPort}`);

      await tunnel.close();
      closed = true;
      await expect(fetch(`http://127.0.0.1:${f.localPort}/`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
      await expect(tunnel.forward(host, httpPort)).rejects.toThrow(/is closed/);
    } finally {
      if (!closed) await tunnel.close();
    }
  });
});
