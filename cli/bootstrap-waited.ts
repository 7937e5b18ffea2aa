import { fetchHealth } from '../shared/remoter/ssh-util.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';

/**
 * Which instances `bootstrap --cloud X` waits for to see each other (pure but for the health
 * probe): every instance of X, and another cloud's instance once its agent has answered. A
 * leader keeps every cloud at its min, so while X boots it may launch instances into another
 * cloud, and those may boot no agent (an ec2 image whose agent its own `bootstrap` installs over
 * SSH): waited for, they failed X's bootstrap, which then ended what it had launched. An
 * instance that answered once stays waited for, so one that dies still fails the wait.
 */

export interface CloudInstance {
  cloud: string;
  instance: InstanceRecord;
}

/** The instances to wait for, listed again at each call; `health` answers whether an agent serves. */
export function waitedInstances(
  list: () => Promise<CloudInstance[]>,
  cloud: string,
  health: (monitor: string) => Promise<unknown> = (monitor) => fetchHealth(monitor, HEALTH_TIMEOUT),
): () => Promise<InstanceRecord[]> {
  const answered = new Set<string>();
  return async () => {
    const all = await list();
    const asked = await Promise.all(
      all.map(async ({ cloud: c, instance: i }) => {
        if (c === cloud || answered.has(i.id)) return true;
        if (i.state === 'terminated' || !i.monitor || !(await health(i.monitor))) return false;
        answered.add(i.id);
        return true;
      }),
    );
    return all.filter((_, n) => asked[n]).map((e) => e.instance);
  };
}

/** How long another cloud's agent has to answer /health in one round (ms). */
const HEALTH_TIMEOUT = 1000;
