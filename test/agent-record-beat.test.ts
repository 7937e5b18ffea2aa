import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildBundles } from '../agent/compose/bundles.ts';
import { agentComponents, type ComponentsInput } from '../agent/compose/components.ts';
import type { Component } from '../agent/lifecycle.ts';
import { defaultTunables } from '../shared/config/tunables.ts';

/**
 * Our record has no timer of its own (it was checked every 250 ms, 4 of an idle agent's ~22
 * wake-ups a second): whoever changes a field refreshes it, and the agent's beat looks once a
 * second for the fields without a hook (addresses, identity, a term alone).
 */
beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function components(refreshRecord: () => void, tick: () => void, election: Component & { beat(): void }) {
  const config = { tunables: defaultTunables(1000) };
  const input = {
    config,
    now: () => Date.now(),
    onError: (name: string, err: Error) => {
      throw new Error(`${name}: ${err.message}`);
    },
    run: { component: { name: 'running', start: () => undefined, stop: () => undefined } },
    bundles: { tick },
    membership: { refreshRecord },
    election,
    scaler: undefined,
  } as unknown as ComponentsInput;
  return agentComponents(input);
}

describe("the agent's beats", () => {
  it("the 1 s beat runs the election's backstop round, the bundles tick and then our record's refresh", () => {
    const calls: string[] = [];
    const list = components(
      () => calls.push('record'),
      () => calls.push('tick'),
      { name: 'x', start: () => undefined, stop: () => undefined, beat: () => calls.push('election') },
    );
    const beat = list.find((c) => c.name === 'beat');
    beat?.start();
    vi.advanceTimersByTime(2999);
    expect(calls).toEqual(['election', 'tick', 'record', 'election', 'tick', 'record']);
    beat?.stop();
  });

  it('the election is the step clock given, started and stopped as a component', () => {
    const seen: string[] = [];
    const election = {
      name: 'clock',
      start: () => void seen.push('start'),
      stop: () => void seen.push('stop'),
      beat: () => undefined,
    };
    const c = components(
      () => undefined,
      () => undefined,
      election,
    ).find((x) => x.name === 'election');
    c?.start();
    c?.stop();
    expect(seen).toEqual(['start', 'stop']);
  });

  it("a bundle event (an apply's outcome, a rollout) refreshes our record at once", () => {
    let refreshed = 0;
    const emitted: string[] = [];
    const bundles = buildBundles({
      config: { tunables: defaultTunables(1000), dataDir: '/nonexistent', cloud: 'web', bootstrap: [] },
      peerId: 'self',
      now: () => Date.now(),
      log: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
      events: { emit: (e: { type: string }) => emitted.push(e.type) },
      node: {},
      leadership: { leads: 1, leader: { peerId: 'self', term: 1, since: 0 } },
      membership: { refreshRecord: () => refreshed++, known: () => [][Symbol.iterator](), record: () => undefined },
      retired: () => false,
      stopping: new AbortController().signal,
    } as unknown as Parameters<typeof buildBundles>[0]);
    bundles.startRollout('a'.repeat(64));
    expect(emitted).toContain('rollout-started');
    expect(refreshed).toBeGreaterThanOrEqual(1);
  });
});
