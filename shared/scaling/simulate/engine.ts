import { initialScalingState, type ScalingState, type StepMember, type StepResult, stepScaling } from '../step.ts';
import { chooseVictims } from '../victims.ts';
import { MetricFeed } from './metric-feed.ts';
import { PoolModel, type SimInstance } from './pool-model.ts';
import { Recorder } from './recorder.ts';
import type { Trace } from './trace.ts';
import type { SimDecision, SimulationResult, SimulationSetup } from './types.ts';

/** Instances seeded before the trace began this long ago: past any minimumRuntime a pool would set. */
const LONG_AGO_MS = 7 * 24 * 3_600_000;

/**
 * Replays a trace through the scaling step the agents run (shared/scaling/step.ts), at the
 * cloud's evaluation interval, on a virtual clock: the trace's own times. The simulated leader
 * does what the live one does with each decision — launches (at most maxPerStep, joining after
 * the launch time, ready after the apply time, some never joining), picks victims with the same
 * chooseVictims and terminates them, replaces launches that never joined within joinTimeout —
 * and the recorder keeps every decision, the count timeline and what the rules saw.
 * Pure: no clock, no sockets, no randomness beyond the seed.
 */
export function simulate(trace: Trace, setup: SimulationSetup): SimulationResult {
  const { config, bounds } = setup;
  const interval = config.interval;
  const feed = new MetricFeed(trace);
  const pool = new PoolModel({
    launchTimeMs: setup.launchTimeMs,
    applyTimeMs: setup.applyTimeMs,
    failureRate: setup.failureRate,
    seed: setup.seed,
  });
  const initial = setup.initial ?? bounds.min;
  pool.seed(initial, trace.start - LONG_AGO_MS);
  const load = loadModel(setup, trace.members.length || initial);
  const recorder = new Recorder(setup, trace.start, trace.end);
  let state: ScalingState = initialScalingState();
  let lastExpandAt: number | null = null;
  let lastContractAt: number | null = null;

  for (let now = trace.start; now <= trace.end; now += interval) {
    feed.advance(now);
    const alive = pool.members(now);
    const serving = alive.filter((m) => m.readyAt <= now).length;
    const members = alive.map((m, i): StepMember => {
      return stepMember(m, load(feed.metricsOf(i), m.readyAt <= now, serving), now);
    });
    const count = pool.counted().length;
    // The rules advance at every evaluation, whatever the leader then does (as on every live node).
    const step = stepScaling(state, {
      now,
      members,
      count,
      bounds,
      config,
      lastExpandAt,
      lastContractAt,
      inFlight: null,
    });
    state = step.state;
    const ready = members.filter((m) => m.ready).length;
    const maps = members.map((m) => Object.fromEntries(Object.entries(m.metrics).map(([k, v]) => [k, v.value])));
    recorder.observe(now, step, count, ready, Math.min(interval, trace.end - now), maps);

    const orphans = pool.neverJoined(now, config.joinTimeout);
    if (orphans.length > 0) {
      // The live leader replaces before it decides: an orphan is terminated, and min refills.
      pool.terminate(
        orphans.map((o) => o.id),
        now,
      );
      recorder.act(decision(now, 'replace', orphans.length, count, 'never joined within joinTimeout', step, orphans));
      continue;
    }
    const d = step.decision;
    if (d.action === 'expand') {
      const n = setup.maxPerStep === null ? d.count : Math.min(d.count, setup.maxPerStep);
      const limited = n < d.count ? ` (${d.count} asked, maxPerStep ${setup.maxPerStep})` : '';
      pool.launch(n, now);
      lastExpandAt = now;
      recorder.act(decision(now, 'expand', n, count, `${d.reason}${limited}`, step));
    } else if (d.action === 'contract') {
      const candidates = alive.map((m, i) => ({
        instanceId: m.id,
        peerId: m.id,
        startedAt: m.joinAt,
        load: (members[i] as StepMember).metrics.load?.value ?? null,
      }));
      const choice = chooseVictims(candidates, {
        count: d.count,
        policy: config.victim,
        now,
        minimumRuntime: config.minimumRuntime,
        // The live leader is (almost always) the oldest member: it claimed first.
        leaderPeerId: alive[0]?.id ?? '',
        retiring: new Set(),
      });
      if (choice.victims.length === 0) {
        recorder.none(now, { ...d, action: 'none', reason: `${d.reason}, but ${choice.shortfall}` }, count);
        continue;
      }
      const ids = choice.victims.map((v) => v.instanceId);
      pool.terminate(ids, now);
      lastContractAt = now;
      const reason = choice.shortfall ? `${d.reason} (${choice.shortfall})` : d.reason;
      recorder.act({ ...decision(now, 'contract', ids.length, count, reason, step), targets: ids });
    } else {
      recorder.none(now, d, count);
    }
  }
  return recorder.result(pool.instances);
}

/** The metrics a member reports under the setup's load model (see SimulationSetup.load). */
function loadModel(setup: SimulationSetup, recordedWith: number) {
  const baseline = setup.traceInstances ?? recordedWith;
  return (metrics: Record<string, number>, ready: boolean, serving: number): Record<string, number> => {
    if (setup.load !== 'spread') return metrics;
    const share: Record<string, number> = Object.create(null);
    for (const [name, value] of Object.entries(metrics)) share[name] = ready ? (value * baseline) / serving : 0;
    return share;
  };
}

function stepMember(m: SimInstance, metrics: Record<string, number>, now: number): StepMember {
  const samples: Record<string, { value: number; at: number }> = Object.create(null);
  for (const [name, value] of Object.entries(metrics)) samples[name] = { value, at: now };
  return { id: m.id, metrics: samples, launchedAt: m.joinAt, ready: m.readyAt <= now };
}

function decision(
  at: number,
  action: SimDecision['action'],
  count: number,
  instances: number,
  reason: string,
  step: StepResult,
  targets?: SimInstance[],
): SimDecision {
  return {
    at,
    action,
    count,
    reason,
    instances,
    policies: step.decision.policies,
    ...(step.decision.policy && action !== 'replace' ? { policy: step.decision.policy } : {}),
    ...(targets ? { targets: targets.map((t) => t.id) } : {}),
  };
}
