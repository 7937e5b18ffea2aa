import { gzipSync } from 'node:zlib';
import { USER_DATA_LIMIT, USER_INIT_DELIMITER } from '../config/ec2-schema.ts';
import { resolveAgentConfig } from '../config/resolve.ts';
import type { PoolDefinition } from '../config/schema.ts';
import { parsePoolKey } from '../pool-key.ts';
import { remoteLayout } from '../provision/layout.ts';
import { findCredential } from './ec2-credentials.ts';
import { UserDataError } from './ec2-errors.ts';

/**
 * The user data of an EC2 node: a cloud-init shell script that writes the pool key, the agent's
 * config and environment, runs the operator's extra init, gets the agent artifact, installs the
 * systemd unit and starts it. Pure: the same inputs give the same bytes, which EC2's client-token
 * idempotency requires (a retried launch must send identical parameters).
 *
 * The agent artifact is the single file /opt/poolparty/poolparty-agent.mjs (what the systemd unit
 * runs, and what the SSH provisioner copies): either baked into the image, or downloaded from
 * `agentUrl` (https:// with curl, s3:// with the AWS CLI and the instance profile) and checked
 * against `agentSha256`. Node.js must be on the image or installed by `userData`.
 *
 * What differs per instance (its id and private address) is read at boot from the instance
 * metadata service (IMDSv2, link-local): one RunInstances call gives all instances the same bytes.
 * Nothing here may hold an AWS credential; the output is checked before it is returned.
 *
 * Tests boot "nodes" on one host: POOLPARTY_ROOT puts every file the script writes, and every
 * node path in the agent config, under a directory (the config's paths carry ROOT_PLACEHOLDER,
 * replaced by that directory or by nothing on a real node); POOLPARTY_IMDS names the metadata
 * service. A rooted node shares the host's network with its siblings, so a wildcard monitor
 * host there becomes the node's private address (a wildcard bind would collide).
 */

const LAYOUT = remoteLayout('');

/**
 * Where things live on a node: the SSH provisioner's layout (shared/provision/layout.ts), so an
 * instance user data booted and one the laptop then provisions over SSH keep one identity, one
 * bundle cache, one config.
 */
export const NODE_PATHS = {
  configDir: LAYOUT.etcDir,
  poolKey: LAYOUT.poolKeyFile,
  agentConfig: LAYOUT.configFile,
  agentEnv: LAYOUT.envFile,
  userInit: `${LAYOUT.etcDir}/user-init.sh`,
  // One directory is the agent's data dir and, for relative metric files, its state dir (as provisioned).
  stateDir: LAYOUT.dataDir,
  dataDir: LAYOUT.dataDir,
  agent: LAYOUT.artifact,
  unit: LAYOUT.unitFile,
} as const;

/** Replaced at boot with values from the instance metadata service. */
export const INSTANCE_ID_PLACEHOLDER = '@@POOLPARTY_INSTANCE_ID@@';
export const PRIVATE_IP_PLACEHOLDER = '@@POOLPARTY_PRIVATE_IP@@';
/**
 * Prefixes every node path in the agent config; replaced at boot by $POOLPARTY_ROOT (empty on a
 * real node). It starts with '/' so the paths stay absolute for the config resolver.
 */
export const ROOT_PLACEHOLDER = '/@@POOLPARTY_ROOT@@';
/** The monitor's bind address when the cloud's is a wildcard: that, or the private address under a root. */
export const MONITOR_HOST_PLACEHOLDER = '@@POOLPARTY_MONITOR_HOST@@';

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::']);

export interface UserDataInput {
  pool: PoolDefinition;
  /** A cloud of `pool` whose `using` is ec2 (or vsphere, with `identity`). */
  cloud: string;
  /** The pool key file's content (libp2p swarm key v1). */
  poolKey: Uint8Array | string;
  /** Multiaddrs of members a new node dials first. */
  bootstrap: string[];
  /** sha256 of the config bundle the node applies at first boot, when the pool has one. */
  bundleHash?: string;
  /** The systemd unit (systemd/poolparty-agent.service). */
  unit: string;
  /**
   * Shell lines that set INSTANCE_ID and PRIVATE_IP, for a provider without EC2's metadata service
   * (vsphere: the id is fixed per VM at clone time). Default: both read from IMDSv2.
   */
  identity?: string[];
}

const IMDS_IDENTITY = [
  '# Instance id and private address from IMDSv2 (link-local; retried while the network comes up).',
  'imds() {',
  '  local token attempt',
  '  for attempt in $(seq 1 30); do',
  '    if token=$(curl -fsS -m 2 -X PUT "$IMDS/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300") &&',
  '      curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $token" "$IMDS/latest/meta-data/$1"; then',
  '      return 0',
  '    fi',
  '    sleep 2',
  '  done',
  '  return 1',
  '}',
  'INSTANCE_ID=$(imds instance-id) || fail "cannot read instance-id from the instance metadata service"',
  'PRIVATE_IP=$(imds local-ipv4) || fail "cannot read local-ipv4 from the instance metadata service"',
];

const BUNDLE_HASH = /^[0-9a-f]{64}$/;

export function buildUserData(input: UserDataInput): string {
  const cloud = input.pool.clouds[input.cloud];
  if (!cloud) throw new UserDataError(`pool '${input.pool.name}' has no cloud '${input.cloud}'`);
  const using = cloud.using;
  if (using.provider !== 'ec2' && using.provider !== 'vsphere')
    throw new UserDataError(`cloud '${input.cloud}' does not use the ec2 or vsphere provider`);
  if (input.bundleHash !== undefined && !BUNDLE_HASH.test(input.bundleHash)) {
    throw new UserDataError(`invalid bundle hash ${JSON.stringify(input.bundleHash)}: expected a sha256 hex digest`);
  }
  for (const addr of input.bootstrap) {
    if (!/^\/\S+$/.test(addr)) throw new UserDataError(`invalid bootstrap multiaddr ${JSON.stringify(addr)}`);
  }
  const poolKey = new TextDecoder().decode(
    parsePoolKey(typeof input.poolKey === 'string' ? new TextEncoder().encode(input.poolKey) : input.poolKey),
  );

  const wildcardMonitor = WILDCARD_HOSTS.has(cloud.monitor.host);
  const config = resolveAgentConfig(input.pool, input.cloud, {
    instanceId: INSTANCE_ID_PLACEHOLDER,
    dataDir: `${ROOT_PLACEHOLDER}${NODE_PATHS.dataDir}`,
    poolKeyFile: `${ROOT_PLACEHOLDER}${NODE_PATHS.poolKey}`,
    listen: [`/ip4/${PRIVATE_IP_PLACEHOLDER}/tcp/${using.p2pPort}`],
    bootstrap: [...input.bootstrap],
    monitor: {
      host: wildcardMonitor ? MONITOR_HOST_PLACEHOLDER : cloud.monitor.host,
      port: cloud.monitor.port,
      url: `http://${PRIVATE_IP_PLACEHOLDER}:${cloud.monitor.port}`,
    },
    stateDir: `${ROOT_PLACEHOLDER}${NODE_PATHS.stateDir}`,
    // The node pulls it from a peer (or the laptop's SFTP upload) before the leader's heartbeat says otherwise.
    ...(input.bundleHash !== undefined ? { bundle: { sha256: input.bundleHash } } : {}),
  });
  const configJson = `${JSON.stringify(config, null, 2)}\n`;
  // Checked before compression: a credential anywhere in the pool definition would ride along.
  const leak = findCredential(configJson);
  if (leak) throw new UserDataError(`refusing to put ${leak} into user data (found in the agent config)`);
  // Compressed: the config embeds the pool definition (every cloud's `using`, `userData` again;
  // not their resources, which travel in bundles), and EC2 allows 16 KB. gzipSync writes no timestamp, so the bytes stay deterministic.
  const configB64 = gzipSync(configJson, { level: 9 }).toString('base64');

  const env = [`POOLPARTY_AGENT_CONFIG=${NODE_PATHS.agentConfig}`];

  const script = [
    '#!/bin/bash',
    `# PoolParty node bootstrap for pool '${input.pool.name}', cloud '${input.cloud}' (generated; runs once, as root).`,
    '# POOLPARTY_ROOT and POOLPARTY_IMDS exist for tests; cloud-init leaves them unset.',
    'set -euo pipefail',
    'umask 077',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    'R="${POOLPARTY_ROOT:-}"',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    'IMDS="${POOLPARTY_IMDS:-http://169.254.169.254}"',
    'log() { echo "poolparty-bootstrap: $*" >&2; }',
    'fail() { log "FAILED: $*"; exit 1; }',
    // The root is substituted into JSON strings and a sed replacement: plain path characters only.
    '[[ -z $R || $R =~ ^(/[A-Za-z0-9._-]+)+$ ]] || fail "POOLPARTY_ROOT must be an absolute path of [A-Za-z0-9._/-]"',
    '',
    ...(input.identity ?? IMDS_IDENTITY),
    '[[ $INSTANCE_ID =~ ^[A-Za-z0-9-]{1,64}$ ]] || fail "unexpected instance id"',
    '[[ $PRIVATE_IP =~ ^[0-9]{1,3}(\\.[0-9]{1,3}){3}$ ]] || fail "unexpected private address"',
    ...(wildcardMonitor ? [`MONITOR_HOST=${cloud.monitor.host}`, '[[ -z $R ]] || MONITOR_HOST=$PRIVATE_IP'] : []),
    '',
    `install -d -m 0755 "$R${NODE_PATHS.configDir}" "$R/opt/poolparty" "$R/etc/systemd/system"`,
    `install -d -m 0700 "$R${NODE_PATHS.dataDir}"`,
    '',
    "# The pool key: the agents' pre-shared network key (not an AWS credential).",
    `cat > "$R${NODE_PATHS.poolKey}" <<'POOLPARTY_KEY_EOF'`,
    poolKey,
    'POOLPARTY_KEY_EOF',
    `chmod 0600 "$R${NODE_PATHS.poolKey}"`,
    '',
    "# The agent config (gzip, base64), with this instance's id, address and root filled in.",
    `base64 -d > "$R${NODE_PATHS.agentConfig}.gz" <<'POOLPARTY_CONFIG_EOF'`,
    ...wrap(configB64, 76),
    'POOLPARTY_CONFIG_EOF',
    `gzip -dc "$R${NODE_PATHS.agentConfig}.gz" |`,
    `  sed -e "s/${INSTANCE_ID_PLACEHOLDER}/$INSTANCE_ID/g" -e "s/${PRIVATE_IP_PLACEHOLDER}/$PRIVATE_IP/g" \\`,
    ...(wildcardMonitor ? [`    -e "s/${MONITOR_HOST_PLACEHOLDER}/$MONITOR_HOST/g" \\`] : []),
    `    -e "s|${ROOT_PLACEHOLDER}|$R|g" > "$R${NODE_PATHS.agentConfig}"`,
    `rm -f "$R${NODE_PATHS.agentConfig}.gz"`,
    `chmod 0600 "$R${NODE_PATHS.agentConfig}"`,
    '',
    `cat > "$R${NODE_PATHS.agentEnv}" <<'POOLPARTY_ENV_EOF'`,
    ...env,
    'POOLPARTY_ENV_EOF',
    `chmod 0600 "$R${NODE_PATHS.agentEnv}"`,
    ...userInit(using.userData),
    ...agentArtifact(using.agentUrl, using.agentSha256),
    '',
    `cat > "$R${NODE_PATHS.unit}" <<'POOLPARTY_UNIT_EOF'`,
    input.unit.trimEnd(),
    'POOLPARTY_UNIT_EOF',
    `chmod 0644 "$R${NODE_PATHS.unit}"`,
    'systemctl daemon-reload',
    'systemctl enable --now poolparty-agent.service',
    'log "agent started as $INSTANCE_ID ($PRIVATE_IP)"',
    '',
  ].join('\n');

  for (const delimiter of ['POOLPARTY_KEY_EOF', 'POOLPARTY_ENV_EOF', 'POOLPARTY_UNIT_EOF']) {
    if (input.unit.split('\n').includes(delimiter))
      throw new UserDataError(`the systemd unit contains a line '${delimiter}'`);
  }
  const found = findCredential(script);
  if (found) throw new UserDataError(`refusing to put ${found} into user data`);
  const size = Buffer.byteLength(script);
  if (size > USER_DATA_LIMIT) {
    throw new UserDataError(
      `user data is ${size} bytes, EC2 allows ${USER_DATA_LIMIT}: shorten using.userData or the pool definition`,
    );
  }
  return script;
}

function userInit(userData: string | undefined): string[] {
  if (userData === undefined || userData.trim() === '') return [];
  if (userData.split('\n').includes(USER_INIT_DELIMITER)) {
    throw new UserDataError(`using.userData must not contain a line '${USER_INIT_DELIMITER}'`);
  }
  return [
    '',
    "# The operator's extra init (using.userData), before the agent starts: e.g. installing Node.js.",
    `cat > "$R${NODE_PATHS.userInit}" <<'${USER_INIT_DELIMITER}'`,
    userData.trimEnd(),
    USER_INIT_DELIMITER,
    `chmod 0700 "$R${NODE_PATHS.userInit}"`,
    `bash "$R${NODE_PATHS.userInit}" || fail "using.userData exited with status $?"`,
  ];
}

function agentArtifact(url: string | undefined, sha256: string | undefined): string[] {
  const lines = ['', `AGENT="$R${NODE_PATHS.agent}"`];
  if (url !== undefined) {
    // The schema allows no quotes, spaces, $ or backslashes in the URL: single quotes are safe.
    lines.push(
      '# The agent artifact, from the operator-configured location only.',
      `log "downloading the agent from ${url}"`,
      url.startsWith('s3://')
        ? `aws s3 cp --only-show-errors '${url}' "$AGENT.download" || fail "cannot download ${url} (AWS CLI and instance profile needed)"`
        : `curl -fsSL --proto '=https' --retry 5 --retry-connrefused -o "$AGENT.download" '${url}' || fail "cannot download ${url}"`,
    );
    if (sha256 !== undefined) {
      lines.push(
        `echo "${sha256}  $AGENT.download" | sha256sum -c --quiet - || fail "agent checksum mismatch (expected ${sha256})"`,
      );
    }
    lines.push('chmod 0755 "$AGENT.download"', 'mv -f "$AGENT.download" "$AGENT"');
  }
  lines.push(
    `[[ -f $AGENT ]] || fail "no agent at ${NODE_PATHS.agent}: bake it into the image or set using.agentUrl"`,
    'command -v node > /dev/null || fail "node not found: use an image with Node.js >= 20.19 or install it in using.userData"',
  );
  return lines;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += width) out.push(text.slice(i, i + width));
  return out;
}
