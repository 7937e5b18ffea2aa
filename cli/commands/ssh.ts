import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { SshUsingDefinition } from '../../shared/config/ssh-schema.ts';
import type { SshInstanceRecord } from '../../shared/remoter/ssh.ts';
import { expandHome } from '../../shared/remoter/ssh-util.ts';
import { type Command, OperationError, UsageError } from '../command.ts';
import { openPool, POOL_OPTIONS, type PoolContext } from '../context.ts';

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

/**
 * The system ssh client's argv for a node. Host keys are checked against the pool's own
 * known_hosts (the one bootstrap filled on first use) and never added silently: a key that is not
 * there is refused, like a changed one.
 */
export function sshArgv(
  using: SshUsingDefinition,
  target: { host: string; port: number },
  stateDir: string,
  remote: string[] = [],
): string[] {
  return [
    'ssh',
    '-i',
    expandHome(using.keyFile),
    '-p',
    String(target.port),
    '-o',
    `UserKnownHostsFile=${join(stateDir, 'known_hosts')}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'IdentitiesOnly=yes',
    `${using.user}@${target.host}`,
    ...remote,
  ];
}

/** POSIX shell quoting, for printing a command line. */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** The node to open: INSTANCE (an instance id or a host) of the chosen ssh clouds, else the first running host. */
async function chooseNode(
  ctx: PoolContext,
  wanted: string | undefined,
): Promise<{ cloud: string; using: SshUsingDefinition; rec: SshInstanceRecord }> {
  const clouds = ctx.clouds.filter((c) => ctx.pool.clouds[c]?.using.provider === 'ssh');
  if (clouds.length === 0) {
    throw new UsageError(
      `ssh: pool ${ctx.pool.name} has no ssh cloud${ctx.clouds.length === 1 ? ` (${ctx.clouds[0]})` : ''}`,
    );
  }
  const running: { cloud: string; using: SshUsingDefinition; rec: SshInstanceRecord; order: number }[] = [];
  for (const cloud of clouds) {
    const using = ctx.pool.clouds[cloud]?.using as SshUsingDefinition;
    const records = (await ctx.remoter(cloud).list({ pool: ctx.pool.name, cloud })) as SshInstanceRecord[];
    for (const rec of records.filter((r) => r.state === 'running')) {
      const order = using.hosts.findIndex((h) => h.host === rec.host && h.port === rec.port);
      running.push({ cloud, using, rec, order: running.length * 1000 + Math.max(order, 0) });
    }
  }
  running.sort((a, b) => a.order - b.order);
  if (running.length === 0) throw new OperationError(`ssh: pool ${ctx.pool.name} has no running ssh host`);
  if (wanted === undefined) return running[0] as (typeof running)[number];
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

export const sshCommand: Command = {
  name: 'ssh',
  summary: 'open a shell on a node of an ssh cloud (or run a command there)',
  usage: '-c FILE [--cloud NAME] [INSTANCE] [-- command …] [--json]',
  details: [
    'INSTANCE is an instance id (as `poolparty list` shows it) or a host; default: the first running host.',
    "Runs the system ssh with the cloud's user and key, checking the host key against the pool's",
    'known_hosts (StrictHostKeyChecking=yes). Exits with the exit code of ssh. --json prints the',
    'command line instead of running it.',
  ].join('\n'),
  options: { ...POOL_OPTIONS },
  positionals: 1,
  passThrough: true,
  async run({ values, json, positionals, rest }) {
    const ctx = await openPool(values, 'ssh');
    const { cloud, using, rec } = await chooseNode(ctx, positionals[0]);
    const argv = sshArgv(using, rec, ctx.stateDir, rest);
    const data: SshCommandResult = {
      instance: rec.id,
      cloud,
      host: rec.host,
      port: rec.port,
      user: using.user,
      argv,
      command: shellQuote(argv),
    };
    if (json) return { data };
    return { data, exitCode: await runSsh(argv) };
  },
};
