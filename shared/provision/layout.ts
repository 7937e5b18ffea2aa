import { agentUnitText, UNIT_NAME } from '../package-files.ts';
import { ProvisionError } from './errors.ts';

/**
 * Where the agent lives on a provisioned host. With the default prefix '' these are the system
 * paths the unit in systemd/poolparty-agent.service names; a prefix moves everything (tests, or
 * several installs on one file system). The unit file itself always goes to /etc/systemd/system.
 */
export interface RemoteLayout {
  prefix: string;
  optDir: string;
  artifact: string;
  manifest: string;
  etcDir: string;
  configFile: string;
  envFile: string;
  poolKeyFile: string;
  /** The agent's data dir (peer-key) and, for metric files, its "state dir". */
  dataDir: string;
  /** Detached mode (no systemd): pid of the running agent. */
  pidFile: string;
  logDir: string;
  /** Detached mode: the agent's stdout/stderr (with systemd: the journal). */
  logFile: string;
  /** Serialises provision/deprovision runs on one host (flock, when available). */
  lockFile: string;
  unitFile: string;
}

export { UNIT_NAME };

export function remoteLayout(prefix = ''): RemoteLayout {
  const p = prefix.replace(/\/+$/, '');
  const optDir = `${p}/opt/poolparty`;
  const etcDir = `${p}/etc/poolparty`;
  const dataDir = `${p}/var/lib/poolparty`;
  const logDir = `${p}/var/log/poolparty`;
  return {
    prefix: p,
    optDir,
    artifact: `${optDir}/poolparty-agent.mjs`,
    manifest: `${optDir}/poolparty-agent.json`,
    etcDir,
    configFile: `${etcDir}/agent.json`,
    envFile: `${etcDir}/agent.env`,
    poolKeyFile: `${etcDir}/pool.key`,
    dataDir,
    pidFile: `${dataDir}/agent.pid`,
    logDir,
    logFile: `${logDir}/agent.log`,
    lockFile: `${p}/var/lib/poolparty.lock`,
    unitFile: `/etc/systemd/system/${UNIT_NAME}.service`,
  };
}

/** The unit template shipped with the package (or embedded in the artifact a leader runs). */
export async function readUnitTemplate(file?: string): Promise<string> {
  try {
    return await agentUnitText(file);
  } catch (err) {
    throw new ProvisionError(`cannot read the systemd unit template ${file ?? UNIT_NAME}: ${(err as Error).message}`);
  }
}

const PLAIN_PATH = /^\/[A-Za-z0-9_.@+/-]+$/;

/**
 * The unit for one host: the template with the host's node binary (absolute, so a node outside
 * systemd's PATH works too) and the layout's paths. Everything else is kept verbatim.
 */
export function renderUnit(template: string, layout: RemoteLayout, node: string): string {
  if (!PLAIN_PATH.test(node)) throw new ProvisionError(`refusing to put node path ${JSON.stringify(node)} in a unit`);
  return template
    .replaceAll('/usr/bin/env node ', `${node} `)
    .replaceAll('/opt/poolparty/', `${layout.optDir}/`)
    .replaceAll('/var/lib/poolparty/', `${layout.dataDir}/`)
    .replaceAll('/etc/poolparty/', `${layout.etcDir}/`);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * agent.env: KEY='value' lines that both systemd's EnvironmentFile= and `sh`'s `.` read the same
 * way (single quotes are literal in both), so the two start modes see one environment.
 */
export function renderEnvFile(layout: RemoteLayout, extra: Record<string, string> = {}): string {
  const vars: Record<string, string> = { POOLPARTY_AGENT_CONFIG: layout.configFile, ...extra };
  const lines = ['# Written by poolparty; read by the systemd unit and by the detached start script.'];
  for (const [key, value] of Object.entries(vars)) {
    if (!ENV_NAME.test(key)) throw new ProvisionError(`invalid agent environment variable name ${JSON.stringify(key)}`);
    if (/['\n\r\\]/.test(value))
      throw new ProvisionError(`agent environment variable ${key}: quotes, backslashes and newlines are not allowed`);
    lines.push(`${key}='${value}'`);
  }
  return `${lines.join('\n')}\n`;
}
