import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { AgentBundleConfig, AgentConfig } from '../wire/agent-config.ts';
import type { MetricSourceSpec } from '../wire/metrics.ts';
import { toConfigure } from './configure-schema.ts';
import { poolBinding, poolUpgradeKey } from './pool-binding.ts';
import type { CloudDefinition, PoolDefinition } from './schema.ts';
import { withStaticSeeds } from './static-seeds.ts';

/** What the launcher decides per instance; the rest of an AgentConfig comes from the pool. */
export interface AgentRuntime {
  instanceId: string;
  dataDir: string;
  poolKeyFile: string;
  listen: string[];
  bootstrap: string[];
  monitor: { host: string; port: number; url: string };
  /** The pool's state dir on the agent's host (absolute): relative metric files live there. */
  stateDir: string;
  /** The bundle the node applies at first boot, when the pool has one. */
  bundle?: AgentBundleConfig;
  /** The pool's upgrade public key (SPKI PEM, shared/upgrade/key.ts); absent: the agent refuses upgrades. */
  upgradeKey?: string;
}

export class ResolveError extends Error {
  override name = 'ResolveError';
}

/**
 * The fully resolved config of one agent. The pool is already normalised by loadPool (tunables
 * merged over the defaults, durations in ms, metric defaults applied), so this only assembles
 * and copies — the agent must not share mutable objects with its launcher. Every agent gets the
 * scaling block: whichever becomes leader needs the bounds, the rules and the whole definition
 * to launch more agents like itself. The result is plain JSON (it is written to agent.json).
 *
 * Except on static SSH hosts: launching there means SSHing into a machine, and nodes hold no SSH
 * key by design. Those agents get no scaling block, so their leader is elected (it still runs
 * rollouts) but never launches or terminates; the laptop manages the hosts.
 */
export function resolveAgentConfig(pool: PoolDefinition, cloudName: string, runtime: AgentRuntime): AgentConfig {
  const cloud = pool.clouds[cloudName];
  if (!cloud) throw new ResolveError(`pool '${pool.name}' has no cloud '${cloudName}'`);
  const stateDir = resolve(runtime.stateDir);
  // The launcher's own key, else the one stamped on the definition (a leader launching, an EC2 node's user data).
  const upgradeKey = runtime.upgradeKey ?? poolUpgradeKey(pool);
  return {
    pool: pool.name,
    cloud: cloudName,
    instanceId: runtime.instanceId,
    dataDir: runtime.dataDir,
    poolKeyFile: runtime.poolKeyFile,
    listen: [...runtime.listen],
    // Plus the pool's ssh hosts: the only peers of other clouds every launcher can name (static-seeds.ts).
    bootstrap: withStaticSeeds(pool, cloudName, runtime.bootstrap),
    monitor: { ...runtime.monitor },
    tunables: { ...cloud.agent },
    ...(runtime.bundle ? { bundle: structuredClone(runtime.bundle) } : {}),
    ...(upgradeKey ? { upgrade: { publicKey: upgradeKey } } : {}),
    metrics: Object.fromEntries(
      Object.entries(cloud.metrics).map(([name, spec]) => [name, withAbsoluteFile(spec, stateDir)]),
    ),
    ...(cloud.using.provider === 'ssh' ? {} : { scaling: scalingBlock(pool, cloud, stateDir) }),
    // Every agent checks every cloud's members by that cloud's provider, so each carries the table.
    binding: poolBinding(pool),
  };
}

function scalingBlock(pool: PoolDefinition, cloud: CloudDefinition, stateDir: string): AgentConfig['scaling'] {
  return {
    min: cloud.instances.min,
    max: cloud.instances.max,
    config: structuredClone(cloud.scaling),
    // The definition keeps relative metric files relative: a leader resolves them again here.
    definition: withoutConfiguration(pool),
    stateDir,
  };
}

/**
 * The pool as agents carry it: every cloud (a leader gives new nodes peers of any cloud) but not
 * what the clouds are configured with. Nodes get that from bundles, never from this copy, and
 * resources (file contents, templates) would only swell every agent config and EC2's 16 KB of
 * user data.
 */
function withoutConfiguration(pool: PoolDefinition): PoolDefinition {
  const copy = JSON.parse(JSON.stringify(pool)) as PoolDefinition;
  for (const cloud of Object.values(copy.clouds)) cloud.configure = toConfigure({});
  return copy;
}

/**
 * Where a file metric is read: an absolute path as is, '~/…' under the home directory, anything
 * else relative to the pool's state dir — so the CLI (e.g. `demo --drive`) can write it.
 */
export function resolveMetricFile(stateDir: string, file: string): string {
  const expanded = expandHome(file);
  return isAbsolute(expanded) ? expanded : resolve(stateDir, expanded);
}

function withAbsoluteFile(spec: MetricSourceSpec, stateDir: string): MetricSourceSpec {
  return spec.kind === 'file' ? { ...spec, file: resolveMetricFile(stateDir, spec.file) } : { ...spec };
}

/**
 * The pool's state dir: --state-dir, else env POOLPARTY_STATE_DIR, else the definition's
 * stateDir, else ~/.poolparty/<name>. A leading '~' means the home directory.
 */
export function resolveStateDir(
  pool: Pick<PoolDefinition, 'name' | 'stateDir'>,
  flag?: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const chosen = flag ?? (env.POOLPARTY_STATE_DIR || undefined) ?? pool.stateDir ?? join('~', '.poolparty', pool.name);
  return resolve(expandHome(chosen));
}

/** The pool key file inside a state dir. */
export function poolKeyFile(stateDir: string): string {
  return join(stateDir, 'pool.key');
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}
