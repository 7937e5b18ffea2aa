import type { PoolDefinition } from '../config/schema.ts';
import type { InstanceRecord } from './types.ts';
import { TAG_CLOUD } from './types.ts';

/**
 * Where a new agent's seeds come from when the pool has clouds its launcher does not list (pure
 * but for the listing it is handed). Each launcher lists only its own provider's instances (local:
 * its record, ec2: DescribeInstances through its client, vsphere: its vCenter), so before this a
 * pool of a local and an EC2 cloud formed two pools that never met (issue 15). Now a launch also
 * lists the pool's other clouds, each through its own provider, and adds a few of each one's live
 * instances: on the laptop through the CLI's remoters (cli/context.ts), on a leader through the
 * providers it scales with anyway. ssh clouds are left out: their hosts are already every agent's
 * static seeds (shared/config/static-seeds.ts), and listing them means SSH, which nodes cannot do.
 * Seeds are best effort: a cloud that cannot be listed in time adds none; its agents still reach
 * the pool through the others'.
 */

/** How many bootstrap peers a new EC2 node is given by default: enough to survive a few dead ones. */
export const EC2_BOOTSTRAP_PEERS = 5;

/** Seeds taken from each other cloud (its oldest live instances). */
export const OTHER_CLOUD_SEEDS = 5;

/** How long listing one other cloud may take before the launch goes on without its seeds (ms). */
export const OTHER_CLOUD_LIST_TIMEOUT_MS = 10_000;

/**
 * Bootstrap multiaddrs from provider records: the oldest live instances with a private address
 * (oldest first: they are the likeliest to be up), each on its own cloud's p2p port. Ordered
 * deterministically, so a retried launch sends the same user data.
 */
export function bootstrapPeers(pool: PoolDefinition, instances: InstanceRecord[], max = EC2_BOOTSTRAP_PEERS): string[] {
  return instances
    .filter((i) => (i.state === 'pending' || i.state === 'running') && i.privateIp !== undefined)
    .sort((a, b) => a.launchedAt - b.launchedAt || a.id.localeCompare(b.id))
    .flatMap((i) => {
      const using = pool.clouds[i.tags[TAG_CLOUD] ?? '']?.using;
      return using ? [`/ip4/${i.privateIp}/tcp/${using.p2pPort}`] : [];
    })
    .slice(0, max);
}

type Using = PoolDefinition['clouds'][string]['using'];

/**
 * True when the remoter of a cloud using `a` already lists the instances of a cloud using `b`:
 * every local cloud of a pool shares its record, an EC2 client lists every ec2 cloud of the pool
 * in its region and endpoint, a vCenter every vsphere cloud it holds.
 */
export function listedTogether(a: Using, b: Using): boolean {
  if (a.provider === 'local' && b.provider === 'local') return true;
  if (a.provider === 'ec2' && b.provider === 'ec2') return a.region === b.region && a.endpoint === b.endpoint;
  if (a.provider === 'vsphere' && b.provider === 'vsphere') return a.url === b.url;
  return false;
}

/** The clouds a launch into `cloud` lists for seeds: neither ssh nor listed by its own remoter. */
export function otherSeedClouds(pool: PoolDefinition, cloud: string): string[] {
  const own = pool.clouds[cloud]?.using;
  if (!own) return [];
  return Object.entries(pool.clouds)
    .filter(([name, c]) => name !== cloud && c.using.provider !== 'ssh' && !listedTogether(own, c.using))
    .map(([name]) => name);
}

export interface OtherCloudSeedsOptions {
  /** Bound on one cloud's listing (ms). Default OTHER_CLOUD_LIST_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Told about a cloud that could not be listed. */
  warn?: (msg: string, fields: Record<string, unknown>) => void;
}

/**
 * The seeds a launch into `cloud` takes from the pool's other clouds, listed with `list` (each in
 * parallel, bounded): up to OTHER_CLOUD_SEEDS of each one's oldest live instances. Undefined when
 * the pool has no such cloud, so a one-provider pool's launches list nothing more than before.
 */
export function otherCloudSeeds(
  pool: PoolDefinition,
  cloud: string,
  list: (cloud: string) => Promise<InstanceRecord[]>,
  opts: OtherCloudSeedsOptions = {},
): (() => Promise<string[]>) | undefined {
  const clouds = otherSeedClouds(pool, cloud);
  if (clouds.length === 0) return undefined;
  const timeoutMs = opts.timeoutMs ?? OTHER_CLOUD_LIST_TIMEOUT_MS;
  return async () => {
    const each = await Promise.all(
      clouds.map(async (other) => {
        try {
          const listed = await bounded(list(other), timeoutMs, `listing cloud ${other} took over ${timeoutMs} ms`);
          return bootstrapPeers(pool, listed, OTHER_CLOUD_SEEDS);
        } catch (err) {
          opts.warn?.('no seeds from another cloud of the pool', { cloud: other, error: (err as Error).message });
          return [];
        }
      }),
    );
    return appendSeeds([], each.flat());
  };
}

/** `own` followed by the `extra` addresses it does not have yet (compared without a /p2p/ suffix). */
export function appendSeeds(own: readonly string[], extra: readonly string[]): string[] {
  const out = [...own];
  const have = new Set(own.map(baseAddress));
  for (const addr of extra) {
    if (have.has(baseAddress(addr))) continue;
    have.add(baseAddress(addr));
    out.push(addr);
  }
  return out;
}

const baseAddress = (addr: string): string => addr.split('/p2p/')[0] ?? addr;

/**
 * How the local launcher is handed other clouds' seeds: fetched before a launch takes the state
 * file's lock (listing EC2 under it would hold every local launch and list up for the call), read
 * synchronously while the agents' configs are written (local-start.ts).
 */
export interface OtherSeedsOption {
  otherSeeds?: () => readonly string[];
}

function bounded<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref?.();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
