import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { resolveAgentConfig } from '../config/resolve.ts';
import { ensureIdentity } from '../identity.ts';
import { sampleBootstrapPeers } from './bootstrap-sample.ts';
import { faultPoint, withoutFaultPoint } from './fault-point.ts';
import type { LocalRemoterOptions } from './local-options.ts';
import { spawnAgent } from './local-process.ts';
import { multiaddr } from './local-records.ts';
import type { LocalInstance, LocalState } from './local-state.ts';
import { appendSeeds } from './pool-seeds.ts';

/** Starting a launch's reserved instances: data dir, identity, bundle, config, then the process. */

export interface StartContext {
  opts: LocalRemoterOptions;
  /** The agent launcher script, resolved. */
  agentBin: string;
  /** The pool key every agent is given. */
  keyFile: string;
  /** Writes the state (fsync'd) while the lock is held. */
  commit: () => Promise<void>;
}

/** Creates each reserved instance (data dir, identity, config, process) and commits it 'running'. */
export async function startInstances(
  state: LocalState,
  batch: LocalInstance[],
  { opts, agentBin, keyFile, commit }: StartContext,
): Promise<void> {
  const { pool } = opts;
  const peers = state.instances
    .filter((i) => i.pool === pool.name && (i.state === 'running' || i.state === 'stopping') && i.peerId)
    .map(multiaddr);
  const { bundleHash } = opts;
  const bundle = await opts.bundle?.();
  const sha256 = bundle?.sha256 ?? (typeof bundleHash === 'function' ? await bundleHash() : bundleHash);
  const env = withoutFaultPoint(opts.env ?? process.env);
  // The pool's clouds of other providers (pool-seeds.ts): without them a local cloud never met an ec2 one.
  const others = opts.otherSeeds?.() ?? [];
  for (const inst of batch) {
    const dir = dirname(inst.configFile);
    const dataDir = join(dir, 'data');
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const { peerId } = await ensureIdentity(dataDir);
    // Where the agent's bundle cache looks; the agent checks the hash again before unpacking.
    if (bundle) {
      await mkdir(join(dataDir, 'bundles'), { recursive: true, mode: 0o700 });
      await writeFile(join(dataDir, 'bundles', `${bundle.sha256}.tar.gz`), bundle.bytes, { mode: 0o600 });
    }
    const config = resolveAgentConfig(pool, inst.cloud, {
      instanceId: inst.id,
      dataDir,
      poolKeyFile: keyFile,
      listen: [`/ip4/${inst.address}/tcp/${inst.p2pPort}`],
      bootstrap: appendSeeds(sampleBootstrapPeers(peers), others),
      monitor: { host: inst.address, port: inst.monitorPort, url: inst.monitor },
      stateDir: resolve(opts.stateDir),
      ...(sha256 ? { bundle: { sha256 } } : {}),
    });
    await writeFile(inst.configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    const pid = spawnAgent({
      node: opts.node ?? process.execPath,
      bin: agentBin,
      configFile: inst.configFile,
      logFile: inst.logFile,
      cwd: dir,
      env,
    });
    faultPoint('after-spawn');
    Object.assign(inst, { state: 'running', pid, peerId });
    await commit();
    peers.push(multiaddr(inst));
  }
}
