import { describe, expect, it } from 'vitest';
import { SCALING_DEFAULTS } from '../shared/scaling/config.ts';
import { initialScalingState, type StepInput, type StepMember, stepScaling } from '../shared/scaling/step.ts';

const member = (id: string, load: number, at: number): StepMember => ({
  id,
  metrics: { load: { value: load, at } },
  launchedAt: 0,
  ready: true,
});

function input(now: number, load: number, over: Partial<StepInput> = {}): StepInput {
  return {
    now,
    members: [member('i-1', load, now), member('i-2', load, now)],
    count: 2,
    bounds: { min: 1, max: 4 },
    config: { ...SCALING_DEFAULTS, expandWhen: 'load > 0.8 for 2s', contractWhen: 'load < 0.2 for 2s' },
    lastExpandAt: null,
    lastContractAt: null,
    inFlight: null,
    ...over,
  };
}

describe('stepScaling (the pure pipeline the scaler and the simulator share)', () => {
  it('carries the sustain timers in its state: expands once the rule has held for its window', () => {
    let state = initialScalingState();
    const actions: string[] = [];
    for (let t = 0; t <= 3000; t += 1000) {
      const r = stepScaling(state, input(t, 0.9));
      state = r.state;
      actions.push(`${r.decision.action}:${r.decision.count}`);
    }
    expect(actions).toEqual(['none:0', 'none:0', 'expand:1', 'expand:1']);
    expect(state.rules.expand).toBe(0);
    const last = stepScaling(state, input(4000, 0.9)).decision;
    expect(last.reason).toBe('expand rule held for 4.0s');
    expect(last.policies).toEqual([
      { policy: 'expandWhen', desired: 3, why: 'expand rule held for 4.0s' },
      // An unsustained contract rule holds the size: it does not agree to a scale-in.
      { policy: 'contractWhen', desired: 2, why: 'contract rule does not hold' },
    ]);
  });

  it('advances the timers without deciding when nothing is counted (a follower)', () => {
    const first = stepScaling(initialScalingState(), input(0, 0.1, { count: null }));
    const later = stepScaling(first.state, input(2500, 0.1, { count: null }));
    expect(later.decision).toMatchObject({ action: 'none', count: 0 });
    expect(later.rules.contract.sustain.satisfied).toBe(true);
    // The first counted step after warm timers contracts at once.
    expect(stepScaling(later.state, input(3000, 0.1)).decision).toMatchObject({ action: 'contract', count: 1 });
  });

  it('restarts a timer when one sample breaks the run', () => {
    let state = stepScaling(initialScalingState(), input(0, 0.9)).state;
    state = stepScaling(state, input(1000, 0.5)).state;
    const r = stepScaling(state, input(2500, 0.9));
    expect(r.decision.action).toBe('none');
    expect(r.state.rules.expand).toBe(2500);
  });
});
