import { loadPool, resolveCloud } from '../shared/config/load.ts';
import { resolveStateDir } from '../shared/config/resolve.ts';
import type { PoolDefinition } from '../shared/config/schema.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import type { InstanceRecord, RemoterBase } from '../shared/remoter/types.ts';
import { artifactDir } from './artifact.ts';
import { type CommandIO, type OptionValues, optionalString, UsageError } from './command.ts';
import { launchBundle } from './compile-cloud.ts';
import { configFile } from './config-file.ts';
import { lazyRemoter } from './lazy-remoter.ts';
import { sshProgressLine } from './ssh-progress.ts';

export interface PoolContext {
  pool: PoolDefinition;
  configFile: string;
  stateDir: string;
  /** The clouds acted on: --cloud, or every cloud of the pool. */
  clouds: string[];
  remoter(cloud: string): RemoterBase;
}

/** `io` receives the ssh remoter's provisioning progress (host keys included). */
export async function openPool(values: OptionValues, cmd: string, io?: CommandIO): Promise<PoolContext> {
  const file = configFile(values, cmd);
  const pool = await loadPool(file);
  const chosen = optionalString(values, 'cloud');
  const clouds = chosen === undefined ? Object.keys(pool.clouds) : [resolveCloud(pool, chosen).name];
  const stateDir = resolveStateDir(pool, optionalString(values, 'state-dir'));
  const ec2 = { ...ec2Extras(process.env), log: cliLogger() };
  const ssh = {
    acceptNewHostKey: values['accept-new-host-key'] === true,
    artifact: artifactDir(process.env),
    ...(io
      ? {
          onProgress: (e: Parameters<typeof sshProgressLine>[0]) => {
            const line = sshProgressLine(e);
            if (line) io.progress(line);
          },
        }
      : {}),
  };
  const remoters = new Map<string, RemoterBase>();
  const bundles = new Map<string, Promise<{ sha256: string; bytes: Buffer } | undefined>>();
  // Built on first use (a launch: hosts provisioned, local agents spawned), once per cloud and command.
  const bundleOf = (cloud: string) => {
    let b = bundles.get(cloud);
    if (!b) {
      b = launchBundle({ pool, configFile: file }, cloud, io ? (line) => io.progress(line) : undefined);
      bundles.set(cloud, b);
    }
    return b;
  };
  const remoter = (cloud: string): RemoterBase => {
    let r = remoters.get(cloud);
    if (!r) {
      const bundle = () => bundleOf(cloud);
      r = lazyRemoter({
        pool,
        cloud,
        stateDir,
        ec2,
        vsphere: { log: ec2.log },
        local: { bundle },
        ssh: { ...ssh, bundle },
        // A launch seeds its agents with the pool's other clouds too, listed by this command's remoters.
        listCloud: (other) => remoter(other).list({ pool: pool.name, cloud: other }),
      });
      remoters.set(cloud, r);
    }
    return r;
  };
  return { pool, configFile: file, stateDir, clouds, remoter };
}

/**
 * The CLI's log lines (remoters, the fence): on stderr, warnings and errors only
 * (POOLPARTY_LOG_LEVEL overrides): stdout holds the command's result, and the progress lines
 * already say what info lines would.
 */
export function cliLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const level = env.POOLPARTY_LOG_LEVEL ? undefined : 'warn';
  return createLogger({}, { ...(level ? { level } : {}), write: (line) => process.stderr.write(line) });
}

/**
 * POOLPARTY_EC2_PAGE_SIZE: DescribeInstances page size (5..1000, default 1000), for EC2-compatible
 * APIs that cap pages lower, and for tests that need several pages without a thousand instances.
 */
export function ec2Extras(env: NodeJS.ProcessEnv): { pageSize?: number } {
  const raw = env.POOLPARTY_EC2_PAGE_SIZE;
  if (raw === undefined || raw === '') return {};
  const pageSize = Number(raw);
  if (!Number.isInteger(pageSize) || pageSize < 5 || pageSize > 1000) {
    throw new UsageError(`POOLPARTY_EC2_PAGE_SIZE must be an integer within 5..1000, got ${JSON.stringify(raw)}`);
  }
  return { pageSize };
}

/** Every instance of the chosen clouds, as their remoters report them. */
export async function listInstances(ctx: PoolContext): Promise<InstanceRecord[]> {
  const all: InstanceRecord[] = [];
  for (const cloud of ctx.clouds) all.push(...(await ctx.remoter(cloud).list({ pool: ctx.pool.name, cloud })));
  return all;
}

export const isLive = (i: InstanceRecord): boolean => i.state !== 'terminated';
