import { describe, expect, it } from 'vitest';
import { waitedInstances } from '../cli/bootstrap-waited.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';

/** What `bootstrap --cloud X` waits for (cli/bootstrap-waited.ts), with a scripted health probe. */
describe('the instances a bootstrap of one cloud waits for', () => {
  const inst = (id: string, state: InstanceRecord['state'] = 'running'): InstanceRecord => ({
    id,
    state,
    launchedAt: 0,
    tags: {},
    monitor: `http://${id}:8642`,
  });

  it("waits for every instance of its cloud, and for another cloud's once its agent answered", async () => {
    const serving = new Set(['loc-1']);
    const listed = [
      { cloud: 'app', instance: inst('app-1') },
      { cloud: 'app', instance: inst('app-2', 'pending') },
      { cloud: 'loc', instance: inst('loc-1') },
      { cloud: 'loc', instance: inst('loc-2') },
    ];
    const waited = waitedInstances(
      async () => listed,
      'app',
      async (monitor) => serving.has(new URL(monitor).hostname),
    );
    expect((await waited()).map((i) => i.id)).toEqual(['app-1', 'app-2', 'loc-1']);
    serving.add('loc-2');
    serving.delete('loc-1');
    // loc-1 answered once: still waited for, so its dying fails the wait instead of going unseen.
    expect((await waited()).map((i) => i.id)).toEqual(['app-1', 'app-2', 'loc-1', 'loc-2']);
  });

  it("skips another cloud's terminated instances and those without a monitor", async () => {
    const { monitor: _none, ...bare } = inst('loc-3');
    const waited = waitedInstances(
      async () => [
        { cloud: 'loc', instance: inst('loc-1', 'terminated') },
        { cloud: 'loc', instance: bare },
      ],
      'app',
      async () => true,
    );
    expect(await waited()).toEqual([]);
  });
});
