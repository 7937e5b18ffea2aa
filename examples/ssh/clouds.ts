/**
 * Static SSH hosts: three machines you already have (bare metal, VMs from any provider) become a
 * pool. The laptop provisions them over SSH; nodes get the agent, its config and the pool key —
 * never an SSH key or a cloud credential. See docs/ssh.md.
 *
 *   npx poolparty bootstrap -c examples/ssh/clouds.ts     # provisions min (3) hosts, TOFU host keys
 *   npx poolparty status -c examples/ssh/clouds.ts
 *   npx poolparty ssh -c examples/ssh/clouds.ts app-2.internal.example.com -- journalctl -u poolparty-agent -n 20
 *   npx poolparty terminate -c examples/ssh/clouds.ts --yes
 *
 * The hosts need Node.js >= 20.19 on PATH and a user with passwordless sudo (or root); the agent
 * runs under systemd where the host has it ('auto').
 */
import { definePool, directory, file, ssh } from 'poolparty';

const motd = file('/etc/motd', { content: 'This machine is managed by PoolParty (pool "shop").\n', mode: '0644' });

export default definePool({
  name: 'shop',
  clouds: {
    app: {
      // Static hosts cannot be launched out of thin air: min = max = the hosts you want running.
      instances: { min: 3, max: 3 },
      using: ssh({
        hosts: [
          '10.0.1.11',
          '10.0.1.12',
          // A host reachable under a name: the agent binds 0.0.0.0 unless told which address.
          { host: 'app-3.internal.example.com', bind: '10.0.1.13' },
        ],
        user: 'deploy', // needs `sudo -n`; 'root' needs nothing else
        keyFile: '~/.ssh/poolparty_ed25519',
        port: 22,
        init: 'auto', // 'systemd' | 'none' | 'auto'
        waitTimeout: '2m', // a host being rebooted answers SSH again within this
      }),
      metrics: {
        queue: { http: 'http://127.0.0.1:9000/stats', path: 'queue.depth', every: '5s' },
      },
      agent: { heartbeatInterval: '1s' },
      resources: [directory('/srv/shop', { mode: '0755' }), motd],
      resolver: ['itamae', 'puppet'],
      verifiers: [{ name: 'motd', command: 'grep -q PoolParty /etc/motd' }],
    },
  },
});
