import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { AgentConfig } from '../wire/agent-config.ts';
import type { HealthView } from '../wire/cluster.ts';
import { MIN_NODE_VERSION, nodeVersionAtLeast } from './artifact.ts';
import { NodeMissingError, NodeTooOldError, ProvisionError } from './errors.ts';
import { UNIT_NAME } from './layout.ts';
import type { HostTarget, InitMode, NodeInfo } from './provision-types.ts';

/**
 * What provisioning concludes from the host's answers: its node, the init mode to install with,
 * the agent's peer identity, and whether the started agent's /health answer is one.
 */

/** The probe's node path and version, or the error telling the user what to install. */
export function checkNode(host: string, probe: Record<string, string>): NodeInfo {
  const path = probe.node ?? '';
  if (!path) {
    throw new NodeMissingError(
      `node is not installed on ${host} (not on PATH ${probe.path ?? ''} nor in /usr/local/bin, /usr/bin): ` +
        `install Node.js ${MIN_NODE_VERSION} or newer (https://nodejs.org/en/download, or your distribution's nodejs package)`,
    );
  }
  const version = probe.node_version ?? '';
  if (!nodeVersionAtLeast(version || '0')) {
    throw new NodeTooOldError(
      `node ${version || '(unknown version)'} at ${path} on ${host} is too old: the agent needs Node.js ${MIN_NODE_VERSION} or newer`,
    );
  }
  return { path, version };
}

/**
 * The init mode to install with, from the target's wish and what the probe found. 'none' beside a
 * running unit is refused: the unit (user data, an image, an earlier bootstrap) would keep its
 * agent and a detached second one would join the pool under the same instance.
 */
export function chooseInit(target: Pick<HostTarget, 'host' | 'init'>, probe: Record<string, string>): InitMode {
  const detected: InitMode = probe.init === 'systemd' ? 'systemd' : 'none';
  const wanted = target.init ?? 'auto';
  if (wanted === 'auto') return detected;
  if (wanted === 'systemd' && detected !== 'systemd') {
    throw new ProvisionError(`${target.host} does not run systemd (no /run/systemd/system): use init 'none' or 'auto'`);
  }
  if (wanted === 'none' && probe.unit_active === '1') {
    throw new ProvisionError(
      `${target.host} runs ${UNIT_NAME}.service under systemd: init 'none' would start a second agent beside it; use init 'auto' or 'systemd'`,
    );
  }
  return wanted;
}

/** The host's existing peer key (kept: its peer id survives re-provisioning), or a new one to upload. */
export async function peerIdentity(
  host: string,
  existing: string | undefined,
): Promise<{ peerId: string; upload?: Buffer }> {
  if (existing) {
    try {
      return { peerId: peerIdFromPrivateKey(privateKeyFromProtobuf(Buffer.from(existing, 'base64'))).toString() };
    } catch (err) {
      throw new ProvisionError(`${host}: the agent's peer-key is not a libp2p key: ${(err as Error).message}`);
    }
  }
  const key = await generateKeyPair('Ed25519');
  return { peerId: peerIdFromPrivateKey(key).toString(), upload: Buffer.from(privateKeyToProtobuf(key)) };
}

/** Where the monitor answers from the host itself (a wildcard bind answers on loopback). */
export function localHealthUrl(config: AgentConfig): string {
  const { host, port } = config.monitor;
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}/health`;
}

export function parseHealth(host: string, text: string | undefined): HealthView {
  try {
    const h = JSON.parse(text ?? '') as HealthView;
    if (h.status === 'ok' && typeof h.peerId === 'string') return h;
  } catch {
    // reported below
  }
  throw new ProvisionError(`${host}: the agent's /health answer is not understood: ${String(text).slice(0, 200)}`);
}
