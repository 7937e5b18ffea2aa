import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { readPoolKey } from '../pool-key.ts';
import type { AgentConfig } from '../wire/agent-config.ts';
import type { HealthView } from '../wire/cluster.ts';
import { type Artifact, loadArtifact, MIN_NODE_VERSION, nodeVersionAtLeast } from './artifact.ts';
import { connectSsh, type SshProgress, type SshSession, type SshTarget, type SshTimeouts } from './connect.ts';
import { NodeMissingError, NodeTooOldError, ProvisionError, RemoteCommandError } from './errors.ts';
import { type HostKeyCheck, type HostKeyVerifier, KnownHosts } from './known-hosts.ts';
import { type RemoteLayout, readUnitTemplate, remoteLayout, renderEnvFile, renderUnit, UNIT_NAME } from './layout.ts';
import { deprovisionScript, installScript, parseKv, probeScript, shq } from './scripts.ts';

/**
 * Provisioning one host over SSH: connect (known_hosts checked), probe (node, init system,
 * existing identity), upload artifact + config + pool key to a private staging dir over SFTP, then
 * one script installs them and (re)starts the agent and waits for its /health. Running it again
 * upgrades in place and keeps the agent's peer id; `deprovisionHost` undoes it.
 */

export type InitMode = 'systemd' | 'none';

export interface HostTarget extends SshTarget {
  /** Install prefix ('' = system paths). */
  prefix?: string;
  /** 'auto' (default): systemd when /run/systemd/system exists on the host. */
  init?: InitMode | 'auto';
}

export interface ProvisionTimeouts extends SshTimeouts {
  /** How long the started agent has to answer /health (ms). Default 30000. */
  healthTimeout: number;
  /** How long an old agent has to exit after SIGTERM before SIGKILL (ms). Default 15000. */
  stopGrace: number;
}

export interface NodeInfo {
  path: string;
  version: string;
}

/** What the agent-config builder gets: the host's paths and identity, decided by the provisioner. */
export interface AgentConfigContext {
  target: HostTarget;
  layout: RemoteLayout;
  init: InitMode;
  node: NodeInfo;
  /** The agent's libp2p peer id (kept across re-provisioning). */
  peerId: string;
  /** Fields the config must use as given (checked): they are where the files are uploaded. */
  paths: { dataDir: string; poolKeyFile: string; stateDir: string };
}

export type ProvisionProgress =
  | SshProgress
  | { type: 'probed'; host: string; node: NodeInfo; init: InitMode; peerId: string; newIdentity: boolean }
  | { type: 'upload'; host: string; file: string; bytes: number }
  | { type: 'artifact-unchanged'; host: string; sha256: string }
  | { type: 'starting'; host: string; init: InitMode }
  | { type: 'stopped-old'; host: string; pids: number[] }
  | { type: 'healthy'; host: string; peerId: string; pid?: number }
  | { type: 'removed'; host: string; stoppedPids: number[]; unitRemoved: boolean };

interface SessionOptions {
  target: HostTarget;
  /** The pool's trust store, `<stateDir>/known_hosts`. */
  knownHostsFile: string;
  /** Checks host keys instead of KnownHosts(knownHostsFile), e.g. under an EC2 instance id (ec2.ts). */
  hostKeys?: HostKeyVerifier;
  /** Replace a recorded host key that changed (a replaced machine). Never implied. */
  acceptNewHostKey?: boolean;
  timeouts?: Partial<ProvisionTimeouts>;
  onProgress?: (e: ProvisionProgress) => void;
}

export interface ProvisionHostOptions extends SessionOptions {
  /** The pool key on this machine; uploaded 0600. */
  poolKeyFile: string;
  /** The artifact, or its directory. Default: <package>/dist/artifact. */
  artifact?: Artifact | string;
  /** Builds the agent's config (e.g. around resolveAgentConfig); may wait, e.g. for other hosts' peer ids. */
  agentConfig: (ctx: AgentConfigContext) => AgentConfig | Promise<AgentConfig>;
  /** Extra agent environment (agent.env), e.g. { NODE_OPTIONS: '--max-old-space-size=256' }. */
  env?: Record<string, string>;
  /** Unit template text. Default: the package's systemd/poolparty-agent.service. */
  unitTemplate?: string;
  /**
   * The configuration bundle: cached in the agent's data dir and named in its config, so the
   * agent applies it at first boot. (An agent that already applied one keeps it: changing the
   * configuration of a running pool is `poolparty configure`'s rolling update.)
   */
  bundle?: { sha256: string; bytes: Buffer };
}

export interface ProvisionResult {
  host: string;
  port: number;
  init: InitMode;
  node: NodeInfo;
  peerId: string;
  hostKey: HostKeyCheck;
  artifactUploaded: boolean;
  /** Pids of agents from an earlier provisioning that were stopped. */
  replacedPids: number[];
  pid?: number;
  health: HealthView;
  config: AgentConfig;
}

export const PROVISION_TIMEOUT_DEFAULTS = { healthTimeout: 30_000, stopGrace: 15_000 } as const;

export async function provisionHost(opts: ProvisionHostOptions): Promise<ProvisionResult> {
  const { target } = opts;
  const t = { ...PROVISION_TIMEOUT_DEFAULTS, ...opts.timeouts };
  const progress = opts.onProgress ?? (() => {});
  const layout = remoteLayout(target.prefix);
  if (opts.bundle && !/^[0-9a-f]{64}$/.test(opts.bundle.sha256)) {
    throw new ProvisionError(`bundle sha256 ${JSON.stringify(opts.bundle.sha256.slice(0, 80))} is not a hex digest`);
  }
  // Local inputs first: a missing artifact or pool key must not cost a connection.
  const artifact = typeof opts.artifact === 'object' ? opts.artifact : await loadArtifact(opts.artifact);
  const poolKey = await readPoolKey(opts.poolKeyFile);
  const session = await open(opts);
  let stage: string | undefined;
  try {
    const runner = await rootRunner(session);
    const probe = parseKv((await run(session, runner, probeScript(layout), 'probe')).stdout).last;
    const node = checkNode(target.host, probe);
    const init = chooseInit(target, probe);
    const identity = await peerIdentity(target.host, probe.peer_key);
    progress({
      type: 'probed',
      host: target.host,
      node,
      init,
      peerId: identity.peerId,
      newIdentity: !!identity.upload,
    });

    const paths = { dataDir: layout.dataDir, poolKeyFile: layout.poolKeyFile, stateDir: layout.dataDir };
    const built = await opts.agentConfig({ target, layout, init, node, peerId: identity.peerId, paths });
    const config: AgentConfig = opts.bundle
      ? { ...built, bundle: { ...built.bundle, sha256: opts.bundle.sha256 } }
      : built;
    if (config.dataDir !== paths.dataDir || config.poolKeyFile !== paths.poolKeyFile) {
      throw new ProvisionError(
        `${target.host}: the agent config must use dataDir ${paths.dataDir} and poolKeyFile ${paths.poolKeyFile}`,
      );
    }

    const made = (await session.exec('umask 077 && mktemp -d /tmp/poolparty-stage.XXXXXXXX')).stdout.trim();
    if (!made.startsWith('/tmp/poolparty-stage.'))
      throw new ProvisionError(`${target.host}: cannot create a staging dir`);
    stage = made;
    const files: [string, string | Buffer][] = [
      ['agent.json', `${JSON.stringify(config, null, 2)}\n`],
      ['agent.env', renderEnvFile(layout, opts.env)],
      ['pool.key', Buffer.from(poolKey)],
    ];
    const artifactUploaded = probe.artifact_sha256 !== artifact.manifest.sha256;
    if (artifactUploaded) {
      files.push(['poolparty-agent.mjs', artifact.content]);
      files.push(['poolparty-agent.json', `${JSON.stringify(artifact.manifest, null, 2)}\n`]);
    } else progress({ type: 'artifact-unchanged', host: target.host, sha256: artifact.manifest.sha256 });
    if (identity.upload) files.push(['peer-key', identity.upload]);
    if (opts.bundle) files.push(['bundle.tar.gz', opts.bundle.bytes]);
    if (init === 'systemd') {
      files.push([
        `${UNIT_NAME}.service`,
        renderUnit(opts.unitTemplate ?? (await readUnitTemplate()), layout, node.path),
      ]);
    }
    for (const [name, content] of files) {
      progress({ type: 'upload', host: target.host, file: name, bytes: Buffer.byteLength(content) });
      await session.writeFile(`${stage}/${name}`, content, 0o600);
    }

    progress({ type: 'starting', host: target.host, init });
    const script = installScript({
      layout,
      stage,
      init,
      node: node.path,
      healthUrl: localHealthUrl(config),
      healthTimeoutS: t.healthTimeout / 1000,
      stopGraceS: t.stopGrace / 1000,
      ...(opts.bundle ? { bundleSha256: opts.bundle.sha256 } : {}),
    });
    stage = undefined; // from here on the install script removes it, whatever happens
    const out = parseKv((await run(session, runner, script, 'install and start the agent')).stdout);
    const replacedPids = (out.all.stopped ?? []).map(Number);
    if (replacedPids.length > 0) progress({ type: 'stopped-old', host: target.host, pids: replacedPids });
    const health = parseHealth(target.host, out.last.health);
    if (health.peerId !== identity.peerId) {
      throw new ProvisionError(
        `${target.host}: agent answered with peer id ${health.peerId}, expected ${identity.peerId}`,
      );
    }
    const pid = Number(out.last.pid) || undefined;
    progress({ type: 'healthy', host: target.host, peerId: health.peerId, pid });
    return {
      host: target.host,
      port: target.port,
      init,
      node,
      peerId: identity.peerId,
      hostKey: session.hostKey,
      artifactUploaded,
      replacedPids,
      pid,
      health,
      config,
    };
  } finally {
    // Uploads that never reached the install script (a failed upload, a throwing config builder).
    if (stage) await session.exec(`rm -rf ${shq(stage)}`).catch(() => undefined);
    await session.close();
  }
}

export type DeprovisionOptions = SessionOptions;

export interface DeprovisionResult {
  host: string;
  stoppedPids: number[];
  unitRemoved: boolean;
}

/** Stops the agent and removes its files (<prefix>/opt|etc|var/lib|var/log/poolparty, the unit). */
export async function deprovisionHost(opts: DeprovisionOptions): Promise<DeprovisionResult> {
  const t = { ...PROVISION_TIMEOUT_DEFAULTS, ...opts.timeouts };
  const session = await open(opts);
  try {
    const runner = await rootRunner(session);
    const script = deprovisionScript(remoteLayout(opts.target.prefix), t.stopGrace / 1000);
    const out = parseKv((await run(session, runner, script, 'stop and remove the agent')).stdout);
    const result = {
      host: opts.target.host,
      stoppedPids: (out.all.stopped ?? []).map(Number),
      unitRemoved: out.last.unit_removed === '1',
    };
    opts.onProgress?.({ type: 'removed', ...result });
    return result;
  } finally {
    await session.close();
  }
}

function open(opts: SessionOptions): Promise<SshSession> {
  return connectSsh({
    ...opts.target,
    knownHosts: opts.hostKeys ?? new KnownHosts(opts.knownHostsFile),
    acceptNewHostKey: opts.acceptNewHostKey,
    timeouts: opts.timeouts,
    onProgress: opts.onProgress,
  });
}

/** `sh -s` as root, or through `sudo -n` for another user (which must not need a password). */
async function rootRunner(session: SshSession): Promise<string> {
  const id = await session.exec('id -u');
  if (id.stdout.trim() === '0') return 'sh -s';
  const sudo = await session.exec('sudo -n true');
  if (sudo.code !== 0) {
    const { user, host } = session.target;
    throw new ProvisionError(
      `${user}@${host} is not root and cannot use sudo without a password: log in as root or allow '${user}' passwordless sudo`,
    );
  }
  return 'sudo -n sh -s';
}

async function run(session: SshSession, runner: string, script: string, what: string) {
  const r = await session.exec(runner, script);
  if (r.code !== 0) {
    const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-20).join(' | ');
    throw new RemoteCommandError(`${session.target.host}: could not ${what} (exit ${r.code ?? r.signal}): ${tail}`);
  }
  return r;
}

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
async function peerIdentity(host: string, existing: string | undefined): Promise<{ peerId: string; upload?: Buffer }> {
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
function localHealthUrl(config: AgentConfig): string {
  const { host, port } = config.monitor;
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}/health`;
}

function parseHealth(host: string, text: string | undefined): HealthView {
  try {
    const h = JSON.parse(text ?? '') as HealthView;
    if (h.status === 'ok' && typeof h.peerId === 'string') return h;
  } catch {
    // reported below
  }
  throw new ProvisionError(`${host}: the agent's /health answer is not understood: ${String(text).slice(0, 200)}`);
}
