import type { Ec2UsingDefinition } from '../shared/config/ec2-schema.ts';
import type { Ec2SshAddress, Ec2SshDefinition } from '../shared/config/ec2-ssh-schema.ts';
import { resolveAgentConfig } from '../shared/config/resolve.ts';
import type { PoolDefinition } from '../shared/config/schema.ts';
import { ProvisionError } from '../shared/provision/errors.ts';
import type { HostKeyVerifier, KnownHosts } from '../shared/provision/known-hosts.ts';
import type { HostTarget } from '../shared/provision/provision.ts';
import { expandHome } from '../shared/remoter/ssh-util.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';

/**
 * Reaching an EC2 instance over SSH (a cloud with `using: ec2({ ssh: {...} })`): which address
 * and login, under which name its host key is trusted, and the agent config the provisioner
 * writes for it — the same config user data writes (instance id, private address, monitor), so
 * both ways of installing an agent agree. Pure.
 */

/** The instance cannot be reached over SSH as configured (no ssh section, no address yet). */
export class Ec2SshError extends ProvisionError {
  override name = 'Ec2SshError';
}

export interface Ec2SshTarget extends HostTarget {
  prefix: string;
  init: Ec2SshDefinition['init'];
  instanceId: string;
  /**
   * The name its host key is recorded under in the pool's known_hosts (OpenSSH's HostKeyAlias):
   * the instance id, not the address. EC2 hands addresses to new instances all the time; a new
   * instance on a recycled address is a new machine to trust, not a changed host key.
   */
  hostKeyAlias: string;
  /** Which of the instance's addresses `host` is. */
  address: Ec2SshAddress;
}

/** The address to SSH to: the configured kind, a public address falling back to the private one. */
export function ec2SshAddress(
  ssh: Pick<Ec2SshDefinition, 'address'>,
  rec: Pick<InstanceRecord, 'privateIp' | 'publicIp'>,
): { host: string; address: Ec2SshAddress } | undefined {
  if (ssh.address === 'public' && rec.publicIp) return { host: rec.publicIp, address: 'public' };
  return rec.privateIp ? { host: rec.privateIp, address: 'private' } : undefined;
}

/**
 * How to log in to an EC2 instance of a cloud whose options have an `ssh` section. Throws
 * Ec2SshError when they have none, or when the instance has no address yet (it is pending).
 */
export function ec2SshTarget(using: Ec2UsingDefinition, rec: InstanceRecord): Ec2SshTarget {
  const ssh = using.ssh;
  if (!ssh) {
    throw new Ec2SshError(
      `${rec.id}: its cloud's ec2 options have no ssh section (add using.ssh with at least keyFile to reach instances over SSH)`,
    );
  }
  const where = ec2SshAddress(ssh, rec);
  if (!where) throw new Ec2SshError(`${rec.id} has no ${ssh.address} or private address yet (state ${rec.state})`);
  return {
    host: where.host,
    port: ssh.port,
    user: ssh.user,
    keyFile: expandHome(ssh.keyFile),
    prefix: ssh.prefix,
    init: ssh.init,
    instanceId: rec.id,
    hostKeyAlias: rec.id,
    address: where.address,
  };
}

/**
 * A verifier that checks every key under `alias` (port 22's bare pattern, as OpenSSH records a
 * HostKeyAlias), whatever address and port the connection used.
 */
export function aliasHostKeys(verifier: HostKeyVerifier, alias: string): HostKeyVerifier {
  return {
    file: verifier.file,
    check: (_host, _port, blob, acceptNew) => verifier.check(alias, ALIAS_PORT, blob, acceptNew),
  };
}

/** Drops what aliasHostKeys recorded under `alias` (a terminated instance: EC2 never reuses its id). */
export function forgetAliasedHostKeys(knownHosts: KnownHosts, alias: string): Promise<number> {
  return knownHosts.forget(alias, ALIAS_PORT);
}

/** OpenSSH writes a HostKeyAlias entry as the bare name, which is host:port's pattern for port 22. */
const ALIAS_PORT = 22;

/** Paths the provisioner decided (AgentConfigContext.paths). */
export interface AgentPaths {
  dataDir: string;
  poolKeyFile: string;
  stateDir: string;
}

/**
 * The agent config of an instance provisioned over SSH: what user data writes (instance id,
 * listen and monitor on the private address, the cloud's monitor bind address), with the
 * provisioner's paths and the given bootstrap peers.
 */
export function ec2AgentConfig(
  pool: PoolDefinition,
  cloudName: string,
  rec: InstanceRecord,
  paths: AgentPaths,
  bootstrap: string[],
): AgentConfig {
  const cloud = pool.clouds[cloudName];
  if (cloud?.using.provider !== 'ec2') throw new Ec2SshError(`cloud '${cloudName}' does not use the ec2 provider`);
  if (!rec.privateIp) throw new Ec2SshError(`${rec.id} has no private address: its agent would have none to announce`);
  const { port, host } = cloud.monitor;
  return resolveAgentConfig(pool, cloudName, {
    instanceId: rec.id,
    dataDir: paths.dataDir,
    poolKeyFile: paths.poolKeyFile,
    stateDir: paths.stateDir,
    listen: [`/ip4/${rec.privateIp}/tcp/${cloud.using.p2pPort}`],
    bootstrap: [...bootstrap],
    monitor: { host, port, url: `http://${rec.privateIp}:${port}` },
  });
}
