import { isIPv4, isIPv6 } from 'node:net';
import type { PoolDefinition } from './schema.ts';

/**
 * Seeds every agent can be given from the pool definition alone (pure): the hosts of its ssh
 * clouds, whose addresses and p2p port the definition names. Each launcher seeds new agents with
 * the live instances *it* lists — local ones from its record, ec2 ones from DescribeInstances,
 * ssh ones from its host list — so clouds of different providers, bootstrapped one `--cloud` at a
 * time, each formed a pool of their own and never met. An ssh cloud's hosts are known before they
 * run: an agent of any other cloud given them dials them at start, and, while one is not up yet,
 * again in each later join round (agent/membership/joining.ts), so the two clouds merge whichever
 * is bootstrapped first. Clouds whose addresses only their provider knows (local, ec2, vsphere)
 * cannot be named here.
 */

/** Hosts taken per ssh cloud, in the order `launch` takes them: enough to survive a few down. */
export const STATIC_SEEDS_PER_CLOUD = 5;

/**
 * `bootstrap` with the hosts of the pool's ssh clouds other than `cloudName` appended (bare
 * multiaddrs: libp2p dials them without a peer id), without repeating an address already there.
 * An ssh cloud's own agents are left to their launcher, which knows which of its hosts run.
 */
export function withStaticSeeds(pool: PoolDefinition, cloudName: string, bootstrap: readonly string[]): string[] {
  const out = [...bootstrap];
  const have = new Set(bootstrap.map((a) => a.split('/p2p/')[0]));
  for (const [name, cloud] of Object.entries(pool.clouds)) {
    if (name === cloudName || cloud.using.provider !== 'ssh') continue;
    const { hosts, p2pPort } = cloud.using;
    for (const h of hosts.slice(0, STATIC_SEEDS_PER_CLOUD)) {
      const addr = `/${protocolOf(h.host)}/${h.host}/tcp/${p2pPort}`;
      if (!have.has(addr)) out.push(addr);
      have.add(addr);
    }
  }
  return out;
}

function protocolOf(host: string): 'ip4' | 'ip6' | 'dns4' {
  return isIPv4(host) ? 'ip4' : isIPv6(host) ? 'ip6' : 'dns4';
}
