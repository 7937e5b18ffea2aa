import { readPoolKey } from '../pool-key.ts';
import type { AgentConfig } from '../wire/agent-config.ts';
import { loadArtifact } from './artifact.ts';
import { ProvisionError } from './errors.ts';
import { checkNode, chooseInit, localHealthUrl, parseHealth, peerIdentity } from './host-checks.ts';
import { readUnitTemplate, remoteLayout, renderEnvFile, renderUnit, UNIT_NAME } from './layout.ts';
import {
  type DeprovisionOptions,
  type DeprovisionResult,
  PROVISION_TIMEOUT_DEFAULTS,
  type ProvisionHostOptions,
  type ProvisionResult,
} from './provision-types.ts';
import { openSession, rootRunner, runScript } from './root-session.ts';
import { deprovisionScript, installScript, parseKv, probeScript, shq } from './scripts.ts';

/**
 * Provisioning one host over SSH: connect (known_hosts checked), probe (node, init system,
 * existing identity), upload artifact + config + pool key to a private staging dir over SFTP, then
 * one script installs them and (re)starts the agent and waits for its /health. Running it again
 * upgrades in place and keeps the agent's peer id; `deprovisionHost` undoes it.
 */

// The CLI and the ssh remoter import the provisioner's types from here.
export {
  type AgentConfigContext,
  type DeprovisionOptions,
  type DeprovisionResult,
  type HostTarget,
  type InitMode,
  type NodeInfo,
  PROVISION_TIMEOUT_DEFAULTS,
  type ProvisionHostOptions,
  type ProvisionProgress,
  type ProvisionResult,
  type ProvisionTimeouts,
} from './provision-types.ts';

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
  const session = await openSession(opts);
  let stage: string | undefined;
  try {
    const runner = await rootRunner(session);
    const probe = parseKv((await runScript(session, runner, probeScript(layout), 'probe')).stdout).last;
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
    const out = parseKv((await runScript(session, runner, script, 'install and start the agent')).stdout);
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

/** Stops the agent and removes its files (<prefix>/opt|etc|var/lib|var/log/poolparty, the unit). */
export async function deprovisionHost(opts: DeprovisionOptions): Promise<DeprovisionResult> {
  const t = { ...PROVISION_TIMEOUT_DEFAULTS, ...opts.timeouts };
  const session = await openSession(opts);
  try {
    const runner = await rootRunner(session);
    const script = deprovisionScript(remoteLayout(opts.target.prefix), t.stopGrace / 1000);
    const out = parseKv((await runScript(session, runner, script, 'stop and remove the agent')).stdout);
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
