import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import pRetry from 'p-retry';
import { poolKeyFile } from '../../shared/config/resolve.ts';
import { parseDuration } from '../../shared/duration.ts';
import { ARTIFACT_FILE, MANIFEST_FILE } from '../../shared/provision/artifact.ts';
import { readUpgradeKey } from '../../shared/upgrade/key.ts';
import { describeArtifact, type SignedManifest, signManifest } from '../../shared/upgrade/manifest.ts';
import { rollbackId, type SignedRollback, signRollback } from '../../shared/upgrade/rollback.ts';
import { VERSION } from '../../shared/version.ts';
import { artifactDir, ensureArtifact } from '../artifact.ts';
import { NotLeaderError } from '../bundle-push.ts';
import { type CommandHandler, OperationError, type OptionValues, optionalString, UsageError } from '../command.ts';
import { isLive, listInstances, openPool, type PoolContext } from '../context.ts';
import { DIRECT } from '../pool-reach.ts';
import { followUpgrade } from '../upgrade/follow.ts';
import { followRollback } from '../upgrade/follow-rollback.ts';
import { pushUpgrade, type UpgradePush } from '../upgrade/push.ts';
import { findLeader } from './configure.ts';

/** How long upgrade waits for a leader before pushing (ms). */
const LEADER_WAIT = 30_000;

function duration(values: OptionValues, name: string, fallback?: string): number | undefined {
  const raw = optionalString(values, name) ?? fallback;
  if (raw === undefined) return undefined;
  try {
    return parseDuration(/^\d+$/.test(raw) ? `${raw}s` : raw);
  } catch (err) {
    throw new UsageError(`upgrade: --${name}: ${(err as Error).message}`);
  }
}

/**
 * The artifact to push and its signed manifest: --artifact FILE (its version from FILE's .json
 * manifest beside it when there is one), else the build in dist/artifact (built when missing).
 */
async function signedArtifact(
  ctx: PoolContext,
  file: string | undefined,
  progress: (line: string) => void,
): Promise<{ file: string; bytes: Buffer; signed: SignedManifest }> {
  const path = file ?? `${await ensureArtifact(progress, artifactDir())}/${ARTIFACT_FILE}`;
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new UsageError(
      `upgrade: --artifact ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const beside = path.endsWith('.mjs') ? `${path.slice(0, -4)}.json` : `${path}.json`;
  const built = await readFile(file ? beside : `${artifactDir()}/${MANIFEST_FILE}`, 'utf8').then(
    (t) => JSON.parse(t) as { version?: unknown },
    () => ({}) as { version?: unknown },
  );
  const key = await readUpgradeKey(ctx.stateDir).catch((err: Error) => {
    throw new OperationError(`upgrade: ${err.message}`);
  });
  const manifest = describeArtifact(bytes, {
    pool: ctx.pool.name,
    version: typeof built.version === 'string' && built.version.length > 0 ? built.version : VERSION,
    builtAt: Math.round((await stat(path)).mtimeMs),
    issuedAt: Date.now(),
  });
  return { file: path, bytes, signed: signManifest(manifest, key.privateKey) };
}

async function confirm(values: OptionValues, io: Parameters<CommandHandler>[0]['io'], question: string) {
  if (values.yes) return;
  if (!io.stdin.isTTY) throw new UsageError('upgrade: refusing to upgrade without --yes (stdin is not a terminal)');
  const rl = createInterface({ input: io.stdin, output: process.stderr });
  try {
    if (!/^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim()))
      throw new OperationError('upgrade: cancelled');
  } finally {
    rl.close();
  }
}

/** `poolparty upgrade`; its options and help are in cli/command-table.ts. */
export const run: CommandHandler = async ({ values, io }) => {
  const timeoutMs = duration(values, 'timeout', '15m') as number;
  const gateMs = duration(values, 'gate');
  const rawMax = optionalString(values, 'max-unavailable');
  const maxUnavailable = rawMax === undefined ? undefined : Number(rawMax);
  if (maxUnavailable !== undefined && (!Number.isInteger(maxUnavailable) || maxUnavailable < 1))
    throw new UsageError(`upgrade: --max-unavailable must be a positive integer, got '${rawMax}'`);
  const rollback = values.rollback === true;
  if (rollback && values.artifact !== undefined) throw new UsageError('upgrade: --rollback takes no --artifact');
  const ctx = await openPool(values, 'upgrade', io);
  const monitors = (await listInstances(ctx)).filter(isLive).flatMap((i) => (i.monitor ? [i.monitor] : []));
  if (monitors.length === 0) throw new OperationError(`upgrade: pool ${ctx.pool.name} has no running instance`);

  let push: UpgradePush;
  let target: { sha256: string; version: string } | null = null;
  if (rollback) {
    const key = await readUpgradeKey(ctx.stateDir);
    push = { rollback: signRollback({ pool: ctx.pool.name, issuedAt: Date.now() }, key.privateKey) };
    await confirm(
      values,
      io,
      `Return the ${monitors.length} node(s) of pool ${ctx.pool.name} to their previous agent?`,
    );
  } else {
    const a = await signedArtifact(ctx, optionalString(values, 'artifact'), io.progress);
    target = a.signed.manifest;
    push = {
      signed: a.signed,
      bytes: a.bytes,
      ...(gateMs ? { gateMs } : {}),
      ...(maxUnavailable ? { maxUnavailable } : {}),
    };
    io.progress(`signed ${a.file}: version ${target.version}, sha256 ${target.sha256} (${a.bytes.length} bytes)`);
    await confirm(values, io, `Upgrade the ${monitors.length} node(s) of pool ${ctx.pool.name} to ${target.version}?`);
  }
  const live = async () => (await listInstances(ctx)).filter(isLive).flatMap((i) => (i.monitor ? [i.monitor] : []));
  /** To whoever leads now; again (the same signed request) when the leader that took it is gone. */
  const hand = async (to: string[]) => {
    const leaderDeadline = Date.now() + LEADER_WAIT;
    return pRetry(
      async () => {
        const found = await findLeader(to, DIRECT, leaderDeadline, 'upgrade');
        io.progress(`pushing to the leader ${found.instanceId} (${found.peerId})`);
        await pushUpgrade(
          { poolKeyFile: poolKeyFile(ctx.stateDir), leaderPeerId: found.peerId, leaderAddrs: found.addrs },
          push,
        );
        return found;
      },
      {
        retries: Number.POSITIVE_INFINITY,
        factor: 1,
        minTimeout: 1000,
        maxTimeout: 1000,
        shouldRetry: ({ error }) => error instanceof NotLeaderError && Date.now() < leaderDeadline,
      },
    );
  };
  const leader = await hand(monitors);
  const resubmit = async () => (await hand(await live())).instanceId;
  if (!target) return followRollbackTo(push, leader.instanceId, { monitors, live, resubmit }, timeoutMs, io.progress);
  const result = await followUpgrade({
    sha256: target.sha256,
    monitors,
    live,
    resubmit,
    timeoutMs,
    pollMs: 500,
    progress: io.progress,
  });
  const data = { ...target, leader: leader.instanceId, ...result };
  if (result.halted)
    throw new OperationError(
      `upgrade: halted at ${result.halted.instanceId}: ${result.halted.reason} (the other nodes keep their agent)`,
    );
  if (!result.done) throw new OperationError(`upgrade: not every node runs ${target.version} after ${timeoutMs} ms`);
  return { data, text: `every node runs ${target.version} (${target.sha256.slice(0, 12)})` };
};

/** `--rollback` after its push: followed to its end like an upgrade (events, progress, exit code). */
async function followRollbackTo(
  push: UpgradePush,
  leader: string,
  pool: { monitors: string[]; live: () => Promise<string[]>; resubmit: () => Promise<string> },
  timeoutMs: number,
  progress: (line: string) => void,
): Promise<{ data: Record<string, unknown>; text: string }> {
  const id = rollbackId((push as { rollback: SignedRollback }).rollback.request);
  progress(`rollback ${id.slice(0, 12)} handed to the leader ${leader}: nodes return one at a time, the leader last`);
  const result = await followRollback({ id, ...pool, timeoutMs, pollMs: 500, progress });
  if (result.halted)
    throw new OperationError(
      `upgrade --rollback: halted at ${result.halted.instanceId}: ${result.halted.reason} (the other nodes keep their agent)`,
    );
  if (!result.done) throw new OperationError(`upgrade --rollback: not finished after ${timeoutMs} ms`);
  return { data: { rollback: true, id, leader, ...result }, text: 'every node returned to its previous agent' };
}
