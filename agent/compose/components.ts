import type { Repeat } from '../beat.ts';
import type { BundleManager } from '../bundle/manager.ts';
import type { GossipChannel } from '../gossip.ts';
import type { StepClock } from '../leadership/step-clock.ts';
import { type Component, component, ticker } from '../lifecycle.ts';
import type { LoadExchange } from '../load/exchange.ts';
import type { Membership } from '../membership/membership.ts';
import type { MetricSampler } from '../metrics/sampler.ts';
import type { MonitorServer } from '../monitor/server.ts';
import type { PoolScaler } from '../scaler/pool-scaler.ts';
import type { Wiring } from './wiring.ts';

/** Whether the agent runs: true between the start and the stop of its `component`. */
export interface RunFlag {
  running(): boolean;
  /** Aborted when the agent stops: what waits on it gives up. */
  readonly stopping: AbortSignal;
  readonly component: Component;
}

export function runFlag(): RunFlag {
  let running = false;
  const stopping = new AbortController();
  return {
    running: () => running,
    stopping: stopping.signal,
    component: component(
      'running',
      () => {
        running = true;
      },
      () => {
        running = false;
        stopping.abort(new Error('agent stopping'));
      },
    ),
  };
}

export interface ComponentsInput extends Pick<Wiring, 'config' | 'now' | 'node'> {
  onError: (name: string, err: Error) => void;
  run: RunFlag;
  sampler: MetricSampler;
  bundles: BundleManager;
  control: GossipChannel;
  membership: Membership;
  load: LoadExchange;
  monitor: MonitorServer;
  /** When the election steps (leadership/step-clock.ts): on a change of the view, and on a beat while time moves it. */
  election: StepClock;
  /** The agent's shared timer (agent/beat.ts); without it the beat has a timer of its own. */
  repeat?: Repeat;
  scaler: PoolScaler | undefined;
}

/** A part whose own start and stop are its lifecycle. */
function startable(name: string, part: { start(): void | Promise<void>; stop(): void | Promise<void> }): Component {
  return component(
    name,
    () => part.start(),
    () => part.stop(),
  );
}

/** The agent's components in start order (stopped in reverse), and the timers that drive them. */
export function agentComponents(i: ComponentsInput): Component[] {
  const { config: c, sampler, node, bundles, control, membership, load, monitor, scaler, onError } = i;
  const t = c.tunables;
  return [
    startable('sampler', sampler),
    startable('p2p', node),
    startable('bundles', bundles),
    startable('control', control),
    i.run.component,
    component(
      'membership',
      () => membership.start(),
      // A retired agent already left; else the facade's stop decides (leave or not) first.
      () => membership.stop({ leave: false, grace: 0 }),
    ),
    startable('load', load),
    component(
      'monitor',
      async () => {
        await monitor.start();
        // The monitor's bound URL is part of the record: announce it now that it is known.
        membership.refreshRecord();
      },
      () => monitor.stop(),
    ),
    startable('election', i.election),
    // The agent's 1 s beat: the bundles tick, our record's fields without a hook of their own
    // (addresses, identity, a term alone; its own 250 ms timer was 4 of an idle agent's ~22
    // wake-ups a second) and the election's backstop round (a follower's view changes poke it).
    ticker(
      'beat',
      Math.min(1000, t.heartbeatInterval),
      () => {
        i.election.beat();
        try {
          bundles.tick();
        } finally {
          membership.refreshRecord();
        }
      },
      onError,
      i.repeat,
    ),
    // Every cloud's scaler on its own interval: ticks at the shortest, each steps when due.
    ...(scaler && c.scaling ? [ticker('scaling', scaler.interval, () => scaler.step(i.now()), onError)] : []),
  ];
}
