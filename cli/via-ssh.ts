import { join } from 'node:path';
import { SshUnreachableError } from '../shared/provision/errors.ts';
import { type HostKeyVerifier, KnownHosts, PinnedHostKeys } from '../shared/provision/known-hosts.ts';
import { expandHome, urlHost } from '../shared/remoter/ssh-util.ts';
import { OperationError, UsageError } from './command.ts';
import { chooseNode, runningNodes, type SshNode } from './commands/ssh.ts';
import type { PoolContext } from './context.ts';
import { aliasHostKeys } from './ec2-ssh.ts';
import { type PoolReach, tunnelReach } from './pool-reach.ts';
import { explainSshFailure, sshProgressLine } from './ssh-progress.ts';
import { SshTunnel, type TunnelEvent } from './ssh-tunnel.ts';

/**
 * The way into a pool whose nodes only SSH reaches: one SSH connection to a node (an ssh cloud's
 * host, or an ec2 instance when the cloud has an `ssh` section), and tunnels from it to whatever the pool announces (monitors, the leader's libp2p listener).
 */

export interface ViaSshOptions {
  cloud: string;
  /** An instance id or host (as `poolparty ssh` takes it); default: the first running host. */
  instance?: string;
  /** Replace the node's recorded host key when it changed; without it an unknown or changed key is refused. */
  acceptNewHostKey?: boolean;
  progress(line: string): void;
  /** Prefix of usage errors, e.g. 'configure --via-ssh'. */
  command: string;
}

export interface SshEntry {
  reach: PoolReach;
  /** The entry node's own monitor as that node reaches it. */
  monitors: string[];
  instanceId: string;
}

export function tunnelLine(e: TunnelEvent): string {
  if (e.type === 'forward') {
    const f = e.forward;
    return `tunnel ${f.localHost}:${f.localPort} → ${urlHost(f.remoteHost)}:${f.remotePort} (via ${e.via})`;
  }
  return `tunnel: ${e.error}`;
}

/**
 * INSTANCE, or every running node in preference order (the next is tried when one is unreachable).
 * chooseNode's errors name `ssh:`; here they belong to the command that asked.
 */
async function candidates(ctx: PoolContext, opts: ViaSshOptions): Promise<SshNode[]> {
  const scoped = { ...ctx, clouds: [opts.cloud] };
  try {
    return opts.instance === undefined ? await runningNodes(scoped) : [await chooseNode(scoped, opts.instance)];
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('ssh: ')) throw err;
    const message = `${opts.command}: ${err.message.slice('ssh: '.length)}`;
    throw err instanceof UsageError ? new UsageError(message) : new OperationError(message);
  }
}

/** The node to SSH to, how, and where it reaches its own monitor. */
export interface EntryTarget {
  instanceId: string;
  host: string;
  port: number;
  user: string;
  /** '~' expanded. */
  keyFile: string;
  /** The name its host key is recorded under when not host:port (ec2: the instance id). */
  hostKeyAlias?: string;
  /** ms */
  waitTimeout: number;
  /** The node's own monitor as that node reaches it. */
  monitor: string;
}

/**
 * The entry node: INSTANCE or the first running node of a cloud SSH reaches (an ssh cloud, an ec2
 * cloud with an `ssh` section), logged in to as `poolparty ssh` does.
 */
function entryTarget(opts: ViaSshOptions, node: SshNode): EntryTarget {
  const base = {
    instanceId: node.rec.id,
    host: node.rec.host,
    port: node.rec.port,
    user: node.login.user,
    keyFile: expandHome(node.login.keyFile),
    ...(node.login.hostKeyAlias ? { hostKeyAlias: node.login.hostKeyAlias } : {}),
  };
  if (node.using.provider === 'ssh') {
    const ssh = node.using;
    const bind = ssh.hosts.find((h) => h.host === node.rec.host && h.port === node.rec.port)?.bind ?? node.rec.host;
    // The node reaches its own monitor at the address it binds; 0.0.0.0 includes loopback.
    const self = bind === '0.0.0.0' ? '127.0.0.1' : bind;
    return { ...base, waitTimeout: ssh.waitTimeout, monitor: `http://${urlHost(self)}:${ssh.monitorPort}` };
  }
  // ec2: the instance's monitor is on its private address, which the instance itself reaches.
  const { monitor } = node.rec;
  if (!monitor) throw new OperationError(`${opts.command}: instance ${node.rec.id} has no monitor address`);
  return { ...base, waitTimeout: node.using.ssh?.waitTimeout ?? 60_000, monitor };
}

/**
 * With no INSTANCE, an entry node that does not answer gets this long before the next is tried
 * (ms); the last candidate gets its cloud's whole waitTimeout.
 */
const NEXT_ENTRY_AFTER = 15_000;

/**
 * Connects to the chosen node (host key checked against the pool's known_hosts) and opens no
 * tunnel yet. Without INSTANCE an unreachable node passes the turn to the next running one; a
 * refused host key or login does not (that is for the operator to look at).
 */
export async function openViaSsh(ctx: PoolContext, opts: ViaSshOptions): Promise<SshEntry> {
  const nodes = await candidates(ctx, opts);
  for (let i = 0; ; i++) {
    const last = i === nodes.length - 1;
    const target = entryTarget(opts, nodes[i] as SshNode);
    try {
      const timeout = last ? target.waitTimeout : Math.min(target.waitTimeout, NEXT_ENTRY_AFTER);
      const tunnel = await openTunnel(ctx, opts, { ...target, waitTimeout: timeout });
      return { reach: tunnelReach(tunnel), monitors: [target.monitor], instanceId: target.instanceId };
    } catch (err) {
      if (last || !(err instanceof SshUnreachableError)) throw explainSshFailure(err);
      opts.progress(
        `${target.instanceId}: unreachable over SSH (${err.message}); trying ${(nodes[i + 1] as SshNode).rec.id}`,
      );
    }
  }
}

function openTunnel(ctx: PoolContext, opts: ViaSshOptions, target: EntryTarget): Promise<SshTunnel> {
  const knownHostsFile = join(ctx.stateDir, 'known_hosts');
  // Like `poolparty ssh` (StrictHostKeyChecking=yes): bootstrap recorded every node's key.
  const verifier: HostKeyVerifier = opts.acceptNewHostKey
    ? new KnownHosts(knownHostsFile)
    : new PinnedHostKeys({ knownHostsFile });
  const knownHosts = target.hostKeyAlias ? aliasHostKeys(verifier, target.hostKeyAlias) : verifier;
  return SshTunnel.open({
    host: target.host,
    port: target.port,
    user: target.user,
    keyFile: target.keyFile,
    knownHosts,
    acceptNewHostKey: opts.acceptNewHostKey === true,
    timeouts: { waitTimeout: target.waitTimeout },
    onProgress: (e) => {
      const line = sshProgressLine(e);
      if (line) opts.progress(line);
    },
    onTunnel: (e) => opts.progress(tunnelLine(e)),
  });
}
