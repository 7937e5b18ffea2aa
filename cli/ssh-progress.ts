import { HostKeyMismatchError } from '../shared/provision/errors.ts';
import type { ProvisionProgress } from '../shared/provision/provision.ts';
import type { SshRemoterError } from '../shared/remoter/ssh.ts';
import { OperationError } from './command.ts';
import { shortPeerId } from './render.ts';

/**
 * One progress line per provisioning event of the ssh remoter base, or undefined for events not
 * worth a line. Host keys are always printed: trust on first use only means something if the user
 * sees the fingerprint that was trusted.
 */
export function sshProgressLine(e: ProvisionProgress): string | undefined {
  switch (e.type) {
    case 'connecting':
      return e.attempt === 1 ? `${e.host}: connecting to port ${e.port}` : undefined;
    case 'retry':
      return `${e.host}: not ready (${e.error}), retrying`;
    case 'port-open':
      return `${e.host}: port ${e.port} open`;
    case 'banner':
      return `${e.host}: ${e.banner}`;
    case 'host-key':
      if (e.status === 'added') return `${e.host}: new host key ${e.fingerprint} recorded in ${e.knownHostsFile}`;
      if (e.status === 'replaced') {
        return `${e.host}: host key replaced (--accept-new-host-key): was ${e.previous ?? '?'}, now ${e.fingerprint}`;
      }
      return `${e.host}: host key ${e.fingerprint} matches ${e.knownHostsFile}`;
    case 'authenticated':
      return `${e.host}: authenticated as ${e.user}`;
    case 'probed':
      return (
        `${e.host}: node ${e.node.version}, init ${e.init}, ` +
        `${e.newIdentity ? 'new agent identity' : 'agent identity kept'} ${shortPeerId(e.peerId)}`
      );
    case 'upload':
      return `${e.host}: uploaded ${e.file} (${e.bytes} bytes)`;
    case 'artifact-unchanged':
      return `${e.host}: agent artifact unchanged (${e.sha256.slice(0, 12)})`;
    case 'stopped-old':
      return e.pids.length > 0 ? `${e.host}: stopped the previous agent (pid ${e.pids.join(', ')})` : undefined;
    case 'starting':
      return `${e.host}: starting the agent (init ${e.init})`;
    case 'healthy':
      return `${e.host}: agent healthy, peer ${shortPeerId(e.peerId)}${e.pid ? ` (pid ${e.pid})` : ''}`;
    case 'removed':
      return `${e.host}: agent removed${e.stoppedPids.length > 0 ? ` (stopped pid ${e.stoppedPids.join(', ')})` : ''}`;
    default:
      return undefined;
  }
}

/** A host presented another key than the one recorded: provisioning stopped before anything was sent. */
export class HostKeyRefusedError extends OperationError {
  override name = 'HostKeyRefusedError';
}

/**
 * The one line a refused host key deserves: which host, what was expected and what was offered,
 * and the flag for the honest case (a reinstalled machine). Other errors pass through unchanged.
 */
export function explainSshFailure(err: unknown): unknown {
  const failures = isSshRemoterError(err) ? err.failures.map((f) => f.error) : [err];
  const mismatches = failures.filter((e): e is HostKeyMismatchError => e instanceof HostKeyMismatchError);
  if (mismatches.length === 0) return err;
  const parts = mismatches.map((m) => `${m.host}: host key changed: expected ${m.expected}, got ${m.got}`);
  const file = mismatches[0]?.knownHostsFile;
  return new HostKeyRefusedError(
    `${parts.join('; ')} (known hosts ${file}); refusing to connect. ` +
      'If the machine was replaced, run again with --accept-new-host-key; otherwise someone may be intercepting.',
  );
}

/** By name, not instanceof: the ssh remoter (and ssh2) loads only for commands on ssh clouds. */
function isSshRemoterError(err: unknown): err is SshRemoterError {
  return err instanceof Error && err.name === 'SshRemoterError';
}
