import { setTimeout as sleep } from 'node:timers/promises';
import type { MemberEvent } from '../../shared/wire/cluster.ts';
import { type Command, type CommandIO, OperationError, optionalString } from '../command.ts';
import { isLive, openPool, POOL_OPTIONS, type PoolContext } from '../context.ts';
import { followEvents, isHealthy } from '../monitor-client.ts';
import { eventLine } from '../render.ts';
import { BOOTSTRAP_TIMEOUT_OPTION, bootstrapPool, bootstrapText, timeoutOption } from './bootstrap.ts';
import { terminatePool } from './terminate.ts';

/** How long the demo looks for a live node to follow before giving up (ms). */
const NO_NODE_GIVE_UP_MS = 60_000;

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

/** A live node to follow, preferring one other than `avoid`; undefined if none answers. */
async function pickNode(ctx: PoolContext, avoid: string | undefined): Promise<string | undefined> {
  const monitors: string[] = [];
  for (const cloud of Object.keys(ctx.pool.clouds)) {
    const live = (await ctx.remoter(cloud).list({ pool: ctx.pool.name, cloud })).filter(isLive);
    monitors.push(...live.map((i) => i.monitor).filter((m): m is string => m !== undefined));
  }
  for (const m of [...monitors.filter((m) => m !== avoid), ...monitors.filter((m) => m === avoid)]) {
    if (await isHealthy(m)) return m;
  }
  return undefined;
}

/** Follows membership events, switching nodes when the followed one goes away, until `stop` aborts. */
async function follow(ctx: PoolContext, io: CommandIO, json: boolean, stop: AbortSignal): Promise<void> {
  const print = (e: MemberEvent) => io.out(json ? JSON.stringify(e) : eventLine(e));
  let current: string | undefined;
  let lostSince = Date.now();
  while (!stop.aborted) {
    const next = await pickNode(ctx, current);
    if (stop.aborted) return;
    if (!next) {
      if (Date.now() - lostSince > NO_NODE_GIVE_UP_MS)
        throw new OperationError('no node of the pool is left to follow');
      await sleep(1000, undefined, { signal: stop }).catch(() => {});
      continue;
    }
    io.progress(`${current ? 'switched to' : 'following events from'} ${next}`);
    current = next;
    try {
      await followEvents(next, print, stop);
    } catch (err) {
      if (!stop.aborted) io.progress(`lost ${next}: ${(err as Error).message}`);
    }
    lostSince = Date.now();
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'bootstrap a pool, follow its membership events, terminate it on Ctrl-C',
  usage: '-c FILE [--cloud NAME] [--state-dir DIR] [--timeout 60s] [--json]',
  details:
    'Prints one line per membership event (joined, suspect, dead, left, recovered, removed). Kill an agent\n' +
    '(e.g. kill -9 <pid> from `poolparty list`) to watch the pool notice. With --json: the bootstrap result,\n' +
    'then one JSON event per line.',
  options: { ...POOL_OPTIONS, timeout: BOOTSTRAP_TIMEOUT_OPTION },
  async run({ values, io, json }) {
    const timeoutMs = timeoutOption(values);
    const ctx = await openPool(values, 'demo');
    const signal = nextSignal();
    const stop = new AbortController();
    let failure: unknown;
    try {
      // A Ctrl-C during bootstrap stops waiting, then still terminates what was launched.
      const boot = bootstrapPool(ctx, optionalString(values, 'cloud'), timeoutMs, io, stop.signal);
      const first = await Promise.race([boot, signal.promise]);
      if (typeof first !== 'string') {
        io.out(
          json ? JSON.stringify(first) : `${bootstrapText(first)}\n\nmembership events (Ctrl-C terminates the pool):`,
        );
        const following = follow(ctx, io, json, stop.signal);
        await Promise.race([following, signal.promise]);
      }
      stop.abort();
      await boot;
    } catch (err) {
      failure = err;
    } finally {
      stop.abort();
      signal.dispose();
    }
    io.progress('stopping: terminating the pool');
    const allClouds: PoolContext = { ...ctx, clouds: Object.keys(ctx.pool.clouds) };
    const result = await terminatePool(allClouds, io);
    if (failure && (failure as { name?: string }).name !== 'AbortError') throw failure;
    return json ? undefined : { data: result, text: `terminated ${result.terminated.join(', ') || 'nothing'}` };
  },
};
