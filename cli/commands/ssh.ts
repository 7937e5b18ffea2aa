import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Ec2UsingDefinition } from '../../shared/config/ec2-schema.ts';
import type { Ec2SshDefinition } from '../../shared/config/ec2-ssh-schema.ts';
import type { UsingDefinition } from '../../shared/config/schema.ts';
import type { SshUsingDefinition } from '../../shared/config/ssh-schema.ts';
import type { SshInstanceRecord } from '../../shared/remoter/ssh.ts';
import { expandHome } from '../../shared/remoter/ssh-util.ts';
import { type CommandHandler, OperationError, UsageError } from '../command.ts';
import { openPool, type PoolContext } from '../context.ts';
import { ec2SshAddress, ec2SshTarget } from '../ec2-ssh.ts';

export interface SshCommandResult {
  instance: string;
  cloud: string;
  host: string;
  port: number;
  user: string;
  /** The argv that is (or, with --json, would be) executed: argv[0] is 'ssh'. */
  argv: string[];
  /** The same, shell-quoted, to copy and paste. */
  command: string;
}

/** How to log in to a node: the cloud's user and key, and the name its host key is recorded under. */
export interface SshLogin {
  user: string;
  keyFile: string;
  /** ec2: the instance id (addresses are recycled; see cli/ec2-ssh.ts). Default: the host. */
  hostKeyAlias?: string;
}

/** A node `poolparty ssh` (and commands that reach a node over SSH) can open. */
export interface SshNode {
  cloud: string;
  using: SshUsingDefinition | Ec2UsingDefinition;
  /** `monitor`: the node's monitor URL as its provider records it (ec2: on the private address). */
  rec: { id: string; host: string; port: number; monitor?: string };
  login: SshLogin;
}

/**
 * The system ssh client's argv for a node. Host keys are checked against the pool's own
 * known_hosts (the one bootstrap filled on first use) and never added silently: a key that is not
 * there is refused, like a changed one.
 */
export function sshArgv(
  login: SshLogin,
  target: { host: string; port: number },
  stateDir: string,
  remote: string[] = [],
): string[] {
  // IdentitiesOnly: offer only this key, not every key an agent holds (servers cut off after a few).
  const options: Record<string, string> = {
    UserKnownHostsFile: join(stateDir, 'known_hosts'),
    StrictHostKeyChecking: 'yes',
    IdentitiesOnly: 'yes',
    ...(login.hostKeyAlias ? { HostKeyAlias: login.hostKeyAlias } : {}),
  };
  const dashO = Object.entries(options).flatMap(([name, value]) => ['-o', `${name}=${value}`]);
  return [
    'ssh',
    '-i',
    expandHome(login.keyFile),
    '-p',
    String(target.port),
    ...dashO,
    `${login.user}@${target.host}`,
    ...remote,
  ];
}

/** POSIX shell quoting, for printing a command line. */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** The running nodes of one cloud SSH reaches, in the order `poolparty ssh` prefers them. */
async function nodesOf(ctx: PoolContext, cloud: string): Promise<SshNode[]> {
  const using = ctx.pool.clouds[cloud]?.using;
  if (using?.provider === 'ssh') {
    const records = (await ctx.remoter(cloud).list({ pool: ctx.pool.name, cloud })) as SshInstanceRecord[];
    const order = (r: SshInstanceRecord) =>
      Math.max(
        0,
        using.hosts.findIndex((h) => h.host === r.host && h.port === r.port),
      );
    return records
      .filter((r) => r.state === 'running')
      .sort((a, b) => order(a) - order(b))
      .map((r) => ({ cloud, using, rec: { id: r.id, host: r.host, port: r.port }, login: using }));
  }
  if (using?.provider === 'ec2' && using.ssh) {
    const records = await ctx.remoter(cloud).list({ pool: ctx.pool.name, cloud });
    return records
      .filter((r) => r.state === 'running' && ec2SshAddress(using.ssh as Ec2SshDefinition, r))
      .sort((a, b) => a.launchedAt - b.launchedAt || a.id.localeCompare(b.id))
      .map((r) => {
        const t = ec2SshTarget(using, r);
        return {
          cloud,
          using,
          rec: { id: r.id, host: t.host, port: t.port, ...(r.monitor ? { monitor: r.monitor } : {}) },
          login: { user: t.user, keyFile: t.keyFile, hostKeyAlias: t.hostKeyAlias },
        };
      });
  }
  return [];
}

const reachable = (using: UsingDefinition | undefined) =>
  using?.provider === 'ssh' || (using?.provider === 'ec2' && using.ssh !== undefined);

/**
 * The running nodes of the chosen clouds SSH reaches (ssh clouds, ec2 clouds with an `ssh`
 * section), preferred first; never empty.
 */
export async function runningNodes(ctx: PoolContext): Promise<SshNode[]> {
  const clouds = ctx.clouds.filter((c) => reachable(ctx.pool.clouds[c]?.using));
  if (clouds.length === 0) {
    const only = ctx.clouds.length === 1 ? ctx.clouds[0] : undefined;
    const using = only === undefined ? undefined : ctx.pool.clouds[only]?.using;
    throw new UsageError(
      using?.provider === 'ec2'
        ? `ssh: cloud ${only} has no ssh section in its ec2 options (add using.ssh with the key matching keyName)`
        : `ssh: pool ${ctx.pool.name} has no ssh cloud${only === undefined ? '' : ` (${only})`}`,
    );
  }
  const running: SshNode[] = [];
  for (const cloud of clouds) running.push(...(await nodesOf(ctx, cloud)));
  if (running.length === 0) throw new OperationError(`ssh: pool ${ctx.pool.name} has no running ssh host`);
  return running;
}

/** The node to open: INSTANCE (an instance id or a host), else the first running node. */
export async function chooseNode(ctx: PoolContext, wanted: string | undefined): Promise<SshNode> {
  const running = await runningNodes(ctx);
  if (wanted === undefined) return running[0] as SshNode;
  const hit = running.find((r) => r.rec.id === wanted) ?? running.find((r) => r.rec.host === wanted);
  if (!hit) {
    throw new UsageError(`ssh: no running instance '${wanted}' (running: ${running.map((r) => r.rec.id).join(', ')})`);
  }
  return hit;
}

function runSsh(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: 'inherit' });
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new OperationError(
              'ssh: the ssh client is not installed (install OpenSSH, e.g. apt-get install openssh-client)',
            )
          : err,
      ),
    );
    // ssh's own convention: 255 when it failed itself; a signal becomes 128 + n like a shell.
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 127)));
  });
}

/** `poolparty ssh`; its options and help are in cli/command-table.ts. */
export const run: CommandHandler = async ({ values, json, positionals, rest }) => {
  const ctx = await openPool(values, 'ssh');
  const { cloud, rec, login } = await chooseNode(ctx, positionals[0]);
  const argv = sshArgv(login, rec, ctx.stateDir, rest);
  const data: SshCommandResult = {
    instance: rec.id,
    cloud,
    host: rec.host,
    port: rec.port,
    user: login.user,
    argv,
    command: shellQuote(argv),
  };
  if (json) return { data };
  return { data, exitCode: await runSsh(argv) };
};
