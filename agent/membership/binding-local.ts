import { existsSync, readFileSync, statSync } from 'node:fs';
import { type BindingSource, type LaunchedInstance, launcherRecordSource } from './binding.ts';

/**
 * The local launcher's record (`<stateDir>/local/instances.json`) as a binding source: a stat per
 * check (cheap), a read only when the file changed.
 */

/**
 * For an agent of a local cloud, which reads the record its own launcher writes. It vouches only
 * while the record names this agent itself (our instance with our peer id): an agent started by
 * hand next to a state dir was not launched from it, and must not reject its peers by it.
 */
export function ownLocalRecords(file: string, selfInstance: string, self: { peerId: string }): BindingSource {
  const read = recordReader(file);
  const records = launcherRecordSource(read);
  return {
    name: records.name,
    check(claim) {
      if (read().get(selfInstance)?.peerId !== self.peerId) return { kind: 'unchecked' };
      return records.check(claim);
    },
  };
}

/**
 * For an agent of another provider (ssh, EC2) checking a local cloud's members: the path came from
 * the launcher that configured it, so the record vouches whenever this host has it. While it does
 * not (the agent runs on another machine than the local launcher, or the local cloud is not
 * launched yet) members are unchecked, and asked again later.
 */
export function peerLocalRecords(file: string): BindingSource {
  const records = launcherRecordSource(recordReader(file));
  return {
    name: records.name,
    check: (claim) => (existsSync(file) ? records.check(claim) : { kind: 'unchecked' }),
  };
}

function recordReader(file: string): () => ReadonlyMap<string, LaunchedInstance> {
  let instances = new Map<string, LaunchedInstance>();
  let mtime = -1;
  return () => {
    try {
      const m = statSync(file).mtimeMs;
      if (m === mtime) return instances;
      const state = JSON.parse(readFileSync(file, 'utf8')) as { instances?: unknown };
      const next = new Map<string, LaunchedInstance>();
      for (const i of Array.isArray(state.instances) ? state.instances : []) {
        const r = i as Record<string, unknown>;
        if (typeof r.id !== 'string' || typeof r.state !== 'string') continue;
        next.set(r.id, {
          id: r.id,
          state: r.state,
          ...(typeof r.peerId === 'string' ? { peerId: r.peerId } : {}),
          ...(typeof r.cloud === 'string' ? { cloud: r.cloud } : {}),
        });
      }
      instances = next;
      mtime = m;
    } catch {
      // Mid-rename or gone: keep what was read last.
    }
    return instances;
  };
}
