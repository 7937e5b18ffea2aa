import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ec2SshDefinition } from '../shared/config/ec2-ssh-schema.ts';
import { poolKeyFile } from '../shared/config/resolve.ts';
import { formatDuration } from '../shared/duration.ts';
import { type Artifact, loadArtifact } from '../shared/provision/artifact.ts';
import { connectSsh } from '../shared/provision/connect.ts';
import { SshUnreachableError } from '../shared/provision/errors.ts';
import type { HostKeyStatus } from '../shared/provision/known-hosts.ts';
import { KnownHosts } from '../shared/provision/known-hosts.ts';
import { type InitMode, type ProvisionProgress, provisionHost } from '../shared/provision/provision.ts';
import { bootstrapPeers } from '../shared/remoter/load.ts';
import { withLauncherBinding } from '../shared/remoter/pool-binding.ts';
import { SshRemoterError } from '../shared/remoter/ssh.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { OperationError } from './command.ts';
import { launchBundle } from './compile-cloud.ts';
import type { PoolContext } from './context.ts';
import { type AgentPaths, aliasHostKeys, ec2AgentConfig, ec2SshAddress, ec2SshTarget } from './ec2-ssh.ts';
import { explainSshFailure, sshProgressLine } from './ssh-progress.ts';

/**
 * `poolparty bootstrap` for an ec2 cloud with an `ssh` section: after RunInstances, wait (polling
 * DescribeInstances) until each instance runs and has the address to SSH to, wait for SSH itself
 * (port, banner, authentication; the host key trusted on first use under the instance id), then
 * provision the agent with the same provisioner as ssh hosts. Instances just launched are
 * provisioned in parallel; instances already running are upgraded in place one at a time, so the
 * pool never restarts all its agents at once. Every wait ends at the cloud's `ssh.waitTimeout`.
 */

export interface Ec2SshProvisionOptions {
  /** Instances this bootstrap launched. */
  fresh: string[];
  /** Instances that were running before: re-provisioned (upgraded in place) one at a time. */
  existing: string[];
  /** The agent artifact or its directory. */
  artifact: Artifact | string;
  /** Replace a host key that changed (--accept-new-host-key). */
  acceptNewHostKey?: boolean;
  /** Every live instance of the pool: the agents' bootstrap peers. */
  listAll: () => Promise<InstanceRecord[]>;
  progress: (line: string) => void;
  /** DescribeInstances interval while instances boot (ms). Default 2000. */
  pollMs?: number;
}

export interface Ec2Provisioned {
  instanceId: string;
  /** The address SSH used. */
  host: string;
  address: 'public' | 'private';
  peerId: string;
  init: InitMode;
  pid?: number;
  /** False when the instance already had this artifact. */
  artifactUploaded: boolean;
  hostKey: { status: HostKeyStatus; fingerprint: string };
}

/** Some instances could not be provisioned; they keep running in EC2. */
export class Ec2ProvisionError extends OperationError {
  override name = 'Ec2ProvisionError';
  constructor(
    message: string,
    readonly failures: { instance: string; error: Error }[],
  ) {
    super(message);
  }
}

/** A host's agent config, from the launch-stamped pool: the upgrade key and table, as user data has. */
export async function hostAgentConfig(ctx: Pick<PoolContext, 'pool' | 'stateDir'>, cloudName: string) {
  const { pool } = await withLauncherBinding(ctx);
  return (rec: InstanceRecord, paths: AgentPaths, peers: string[]) =>
    ec2AgentConfig(pool, cloudName, rec, paths, peers);
}

const DEFAULT_POLL_MS = 2000;
/** Events of the provisioner's own connection: the wait for SSH already reported them. */
const CONNECT_EVENTS = new Set(['connecting', 'port-open', 'banner', 'host-key', 'authenticated', 'retry']);
/** The host answered SSH a moment ago: its provisioning connection needs no boot-time patience. */
const RECONNECT_TIMEOUT = 30_000;

export async function provisionEc2Instances(
  ctx: PoolContext,
  cloudName: string,
  opts: Ec2SshProvisionOptions,
): Promise<Ec2Provisioned[]> {
  const using = ctx.pool.clouds[cloudName]?.using;
  if (using?.provider !== 'ec2' || !using.ssh) {
    throw new OperationError(`cloud ${cloudName} has no ec2 ssh section to provision with`);
  }
  const ssh = using.ssh;
  const ids = [...opts.fresh, ...opts.existing.filter((id) => !opts.fresh.includes(id))];
  if (ids.length === 0) return [];
  const deadline = Date.now() + ssh.waitTimeout;
  const remoter = ctx.remoter(cloudName);
  const { ready, failures } = await waitUntilRunning({
    ids,
    ssh,
    deadline,
    pollMs: opts.pollMs ?? DEFAULT_POLL_MS,
    list: () => remoter.list({ pool: ctx.pool.name, cloud: cloudName }),
    progress: opts.progress,
  });

  const artifact = typeof opts.artifact === 'object' ? opts.artifact : await loadArtifact(opts.artifact);
  const bundle = await launchBundle(ctx, cloudName, opts.progress);
  const agentConfig = await hostAgentConfig(ctx, cloudName);
  const peers = (await opts.listAll()).filter((i) => i.state === 'pending' || i.state === 'running');
  const one = (rec: InstanceRecord) =>
    provisionOne(rec, {
      ctx,
      cloudName,
      artifact,
      bundle,
      agentConfig,
      deadline,
      waitTimeout: ssh.waitTimeout,
      acceptNewHostKey: opts.acceptNewHostKey === true,
      peers: bootstrapPeers(
        ctx.pool,
        peers.filter((p) => p.id !== rec.id),
      ),
      progress: opts.progress,
    });

  const done: Ec2Provisioned[] = [];
  const settle = async (rec: InstanceRecord) => {
    try {
      done.push(await one(rec));
    } catch (err) {
      failures.push({ instance: rec.id, error: err instanceof Error ? err : new Error(String(err)) });
    }
  };
  const fresh = opts.fresh.flatMap((id) => ready.get(id) ?? []);
  const existing = opts.existing.filter((id) => !opts.fresh.includes(id)).flatMap((id) => ready.get(id) ?? []);
  if (fresh.length > 0) opts.progress(`provisioning ${plural(fresh.length, 'new instance')} over SSH`);
  await Promise.all(fresh.map(settle));
  if (existing.length > 0) {
    opts.progress(`upgrading ${plural(existing.length, 'running instance')} in place over SSH, one at a time`);
  }
  for (const rec of existing) await settle(rec);

  if (failures.length > 0) {
    const message =
      `could not provision ${failures.length} of ${plural(ids.length, 'instance')} of cloud ${cloudName} over SSH: ` +
      `${failures.map((f) => (f.error.message.startsWith(f.instance) ? f.error.message : `${f.instance}: ${f.error.message}`)).join('; ')} ` +
      '(EC2 keeps them running: run bootstrap again to retry, or poolparty terminate)';
    const carrier = new SshRemoterError(
      message,
      failures.map((f) => ({ host: f.instance, error: f.error })),
    );
    const explained = explainSshFailure(carrier);
    throw explained === carrier ? new Ec2ProvisionError(message, failures) : explained;
  }
  return ids.flatMap((id) => done.find((d) => d.instanceId === id) ?? []);
}

interface WaitOptions {
  ids: string[];
  ssh: Ec2SshDefinition;
  deadline: number;
  pollMs: number;
  list: () => Promise<InstanceRecord[]>;
  progress: (line: string) => void;
}

/** Polls the provider until every instance runs with an address to SSH to, is gone, or the deadline passes. */
async function waitUntilRunning(o: WaitOptions): Promise<{
  ready: Map<string, InstanceRecord>;
  failures: { instance: string; error: Error }[];
}> {
  const ready = new Map<string, InstanceRecord>();
  const failures: { instance: string; error: Error }[] = [];
  const waiting = new Map<string, InstanceRecord | undefined>(o.ids.map((id) => [id, undefined]));
  const said = new Map<string, string>();
  const say = (id: string, line: string) => {
    if (said.get(id) !== line) o.progress(line);
    said.set(id, line);
  };
  const fail = (id: string, message: string) => {
    waiting.delete(id);
    failures.push({ instance: id, error: new OperationError(message) });
  };
  // Bounded by the deadline; the round cap only guards against a clock that stands still.
  const rounds = Math.ceil(o.ssh.waitTimeout / Math.max(1, o.pollMs)) + 2;
  for (let round = 0; round < rounds && waiting.size > 0; round++) {
    const listed = new Map((await o.list()).map((i) => [i.id, i]));
    for (const id of [...waiting.keys()]) {
      const rec = listed.get(id);
      waiting.set(id, rec);
      if (!rec) {
        fail(id, `${id} is gone (terminated) before it could be provisioned`);
      } else if (rec.state === 'stopping') {
        fail(id, `${id} is ${ec2State(rec)}, not running: start it or terminate it`);
      } else if (rec.state === 'running' && ec2SshAddress(o.ssh, rec)) {
        const where = ec2SshAddress(o.ssh, rec);
        say(id, `${id}: running, SSH to ${o.ssh.user}@${where?.host}:${o.ssh.port} (${where?.address} address)`);
        ready.set(id, rec);
        waiting.delete(id);
      } else {
        say(id, `${id}: ${ec2State(rec)}, waiting for it to run with an address`);
      }
    }
    const left = o.deadline - Date.now();
    if (waiting.size === 0 || left <= 0) break;
    await sleep(Math.min(o.pollMs, left));
  }
  for (const [id, rec] of waiting) {
    fail(
      id,
      `${id} is not running with an address after ${formatDuration(o.ssh.waitTimeout)} ` +
        `(last seen ${rec ? ec2State(rec) : 'nowhere'}; ssh.waitTimeout)`,
    );
  }
  return { ready, failures };
}

interface OneOptions {
  ctx: PoolContext;
  cloudName: string;
  artifact: Artifact;
  bundle: { sha256: string; bytes: Buffer } | undefined;
  agentConfig: Awaited<ReturnType<typeof hostAgentConfig>>;
  deadline: number;
  /** ssh.waitTimeout, for messages. */
  waitTimeout: number;
  acceptNewHostKey: boolean;
  peers: string[];
  progress: (line: string) => void;
}

/** Waits for the instance's SSH, keeps an identity user data gave it, and provisions the agent. */
async function provisionOne(rec: InstanceRecord, o: OneOptions): Promise<Ec2Provisioned> {
  const using = o.ctx.pool.clouds[o.cloudName]?.using;
  if (using?.provider !== 'ec2') throw new OperationError(`cloud ${o.cloudName} does not use the ec2 provider`);
  const target = ec2SshTarget(using, rec);
  const knownHostsFile = join(o.ctx.stateDir, 'known_hosts');
  const hostKeys = aliasHostKeys(new KnownHosts(knownHostsFile), target.hostKeyAlias);
  // Lines name the instance, as `poolparty list` does, rather than its address.
  const print = (e: ProvisionProgress) => {
    const line = sshProgressLine({ ...e, host: rec.id } as ProvisionProgress);
    if (line) o.progress(line);
  };

  const session = await connectSsh({
    ...target,
    knownHosts: hostKeys,
    acceptNewHostKey: o.acceptNewHostKey,
    timeouts: { waitTimeout: Math.max(1000, o.deadline - Date.now()) },
    onProgress: print,
  }).catch((err: unknown) => {
    // The SSH wait only had what the boot left of the budget: name the budget the user set.
    if (!(err instanceof SshUnreachableError)) throw err;
    const last = /\): (.*)$/.exec(err.message)?.[1] ?? err.message;
    throw new SshUnreachableError(
      `cannot reach ${target.host}:${target.port} over SSH within the cloud's ssh.waitTimeout ` +
        `(${formatDuration(o.waitTimeout)}, counted from the launch): ${last}`,
    );
  });
  const hostKey = { status: session.hostKey.status, fingerprint: session.hostKey.fingerprint };
  // This connection was the wait for SSH (and the host key check); the provisioner opens its own.
  await session.close();

  const result = await provisionHost({
    target,
    knownHostsFile,
    hostKeys,
    poolKeyFile: poolKeyFile(o.ctx.stateDir),
    artifact: o.artifact,
    ...(o.bundle ? { bundle: o.bundle } : {}),
    timeouts: { waitTimeout: RECONNECT_TIMEOUT },
    onProgress: (e) => {
      if (!CONNECT_EVENTS.has(e.type)) print(e);
    },
    agentConfig: (a) => o.agentConfig(rec, a.paths, o.peers),
  });
  return {
    instanceId: rec.id,
    host: target.host,
    address: target.address,
    peerId: result.peerId,
    init: result.init,
    ...(result.pid !== undefined ? { pid: result.pid } : {}),
    artifactUploaded: result.artifactUploaded,
    hostKey,
  };
}

function ec2State(rec: InstanceRecord): string {
  return (rec as InstanceRecord & { ec2State?: string }).ec2State ?? rec.state;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
