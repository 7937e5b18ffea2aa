import { setTimeout as sleep } from 'node:timers/promises';
import { resolveCloud } from '../../shared/config/load.ts';
import type { PoolEvent } from '../../shared/wire/cluster.ts';
import { type CommandHandler, type CommandIO, OperationError, optionalString } from '../command.ts';
import { isLive, openPool, type PoolContext } from '../context.ts';
import { drive, planDrive, removeMetric, writeMetric } from '../drive.ts';
import { eventSource } from '../event-sources.ts';
import { fetchCluster, followEvents, isHealthy } from '../monitor-client.ts';
import { followAllNodes } from '../node-streams.ts';
import { eventLine } from '../render.ts';
import { bootstrapPool, bootstrapText, timeoutOption } from './bootstrap.ts';
import { terminatePool } from './terminate.ts';

/** How long the demo looks for a live node to follow before giving up (ms). */
const NO_NODE_GIVE_UP_MS = 60_000;
/** How often the demo re-reads the pool's nodes (ms). */
const REFRESH_MS = 1000;
/** How long --drive waits for the pool to grow, then to shrink (ms). */
const DRIVE_PHASE_TIMEOUT_MS = 180_000;

/** Resolves with the signal's name on the first SIGINT or SIGTERM. */
function nextSignal(): { promise: Promise<string>; dispose(): void } {
  let dispose = () => {};
  const promise = new Promise<string>((resolve) => {
    const on = (sig: string) => () => resolve(sig);
    const int = on('SIGINT');
    const term = on('SIGTERM');
    process.once('SIGINT', int);
    process.once('SIGTERM', term);
    dispose = () => {
      process.off('SIGINT', int);
      process.off('SIGTERM', term);
    };
  });
  return { promise, dispose };
}

async function liveMonitors(ctx: PoolContext): Promise<string[]> {
  const monitors: string[] = [];
  for (const cloud of Object.keys(ctx.pool.clouds)) {
    const live = (await ctx.remoter(cloud).list({ pool: ctx.pool.name, cloud })).filter(isLive);
    monitors.push(...live.map((i) => i.monitor).filter((m): m is string => m !== undefined));
  }
  return monitors;
}

/** A live node to follow, preferring one other than `avoid`; undefined if none answers. */
async function pickNode(ctx: PoolContext, avoid: string | undefined): Promise<string | undefined> {
  const monitors = await liveMonitors(ctx);
  for (const m of [...monitors.filter((m) => m !== avoid), ...monitors.filter((m) => m === avoid)]) {
    if (await isHealthy(m)) return m;
  }
  return undefined;
}

/** Membership and leadership: every node emits them, so they are taken from one followed node. */
const fromFollowedNode = (e: PoolEvent) => eventSource(e) === 'followed-node';

/** Events only one node emits (the leader's decisions, rollouts, upgrades; a node's own bundle and retiring). */
const fromEveryNode = (e: PoolEvent) => eventSource(e) === 'every-node';

/** Follows one node's events, switching nodes when the followed one goes away, until `stop` aborts. */
async function follow(
  ctx: PoolContext,
  io: CommandIO,
  print: (e: PoolEvent) => void,
  stop: AbortSignal,
): Promise<void> {
  let current: string | undefined;
  let lostSince = Date.now();
  while (!stop.aborted) {
    const next = await pickNode(ctx, current);
    if (stop.aborted) return;
    if (!next) {
      if (Date.now() - lostSince > NO_NODE_GIVE_UP_MS)
        throw new OperationError('no node of the pool is left to follow');
      await sleep(REFRESH_MS, undefined, { signal: stop }).catch(() => {});
      continue;
    }
    io.progress(`${current ? 'switched to' : 'following events from'} ${next}`);
    current = next;
    try {
      await followEvents(next, (e) => fromFollowedNode(e) && print(e), stop);
    } catch (err) {
      if (!stop.aborted) io.progress(`lost ${next}: ${(err as Error).message}`);
    }
    lostSince = Date.now();
  }
}

/** Live instances of `cloud` (provider) and how many of its members a node sees alive. */
async function countCloud(ctx: PoolContext, cloud: string): Promise<{ live: number; alive: number }> {
  const live = (await ctx.remoter(cloud).list({ pool: ctx.pool.name, cloud })).filter(isLive);
  for (const m of live.map((i) => i.monitor).filter((m): m is string => m !== undefined)) {
    try {
      const view = await fetchCluster(m, 1000);
      return { live: live.length, alive: view.members.filter((x) => x.cloud === cloud && x.state === 'alive').length };
    } catch {
      // try the next node
    }
  }
  return { live: live.length, alive: 0 };
}

/** `poolparty demo`; its options and help are in cli/command-table.ts. */
export const run: CommandHandler = async ({ values, io, json }) => {
  const timeoutMs = timeoutOption(values);
  const ctx = await openPool(values, 'demo');
  const { name: cloud } = resolveCloud(ctx.pool, optionalString(values, 'cloud'));
  // Checked before anything is launched: a pool that cannot be driven is a usage error.
  const plan = values.drive ? planDrive(ctx.pool, cloud, ctx.stateDir) : undefined;
  const say = (text: string) => (json ? io.progress(text) : io.out(text));
  const names = new Map<string, string>();
  const print = (e: PoolEvent) => {
    if ('instanceId' in e) names.set(e.peerId, e.instanceId);
    io.out(json ? JSON.stringify(e) : eventLine(e, names));
  };

  const signal = nextSignal();
  const stop = new AbortController();
  let failure: unknown;
  try {
    // A Ctrl-C during bootstrap stops waiting, then still terminates what was launched.
    const boot = bootstrapPool(ctx, cloud, { timeoutMs, signal: stop.signal }, io);
    const first = await Promise.race([boot, signal.promise]);
    if (typeof first !== 'string') {
      for (const m of first.cluster?.members ?? []) names.set(m.peerId, m.instanceId);
      // Every node serves the live page; the first one is where a newcomer looks.
      const page = first.instances.find((i) => i.monitor)?.monitor;
      const watch = page ? `\n\nwatch it live: open ${page.replace(/\/$/, '')}/ in a browser` : '';
      io.out(json ? JSON.stringify(first) : `${bootstrapText(first)}${watch}\n\nevents (Ctrl-C terminates the pool):`);
      const following = follow(ctx, io, print, stop.signal);
      const everyNode = followAllNodes({
        monitors: () => liveMonitors(ctx),
        accept: fromEveryNode,
        onEvent: print,
        refreshMs: REFRESH_MS,
        signal: stop.signal,
      });
      if (plan) {
        const driving = drive(plan, {
          write: (v) => writeMetric(plan.file, v),
          count: () => countCloud(ctx, cloud),
          say,
          signal: stop.signal,
          pollMs: REFRESH_MS,
          phaseTimeoutMs: DRIVE_PHASE_TIMEOUT_MS,
        });
        // The driver's failure (e.g. the metric file cannot be written) ends the demo.
        driving.catch((err: unknown) => {
          failure ??= err;
          stop.abort();
        });
      }
      await Promise.race([following, signal.promise, abortedPromise(stop.signal)]);
      stop.abort();
      await everyNode;
    }
    stop.abort();
    await boot;
  } catch (err) {
    failure ??= err;
  } finally {
    stop.abort();
    signal.dispose();
  }
  if (plan) await removeMetric(plan.file).catch(() => undefined);
  io.progress('stopping: terminating the pool');
  const allClouds: PoolContext = { ...ctx, clouds: Object.keys(ctx.pool.clouds) };
  const result = await terminatePool(allClouds, io);
  if (failure && (failure as { name?: string }).name !== 'AbortError') throw failure;
  return json ? undefined : { data: result, text: `terminated ${result.terminated.join(', ') || 'nothing'}` };
};

function abortedPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
