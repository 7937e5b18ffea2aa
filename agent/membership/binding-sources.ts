import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig } from '../../shared/wire/agent-config.ts';
import { type BindingSource, type LaunchedInstance, launcherRecordSource } from './binding.ts';
import { ec2IdentitySource } from './binding-ec2.ts';
import { OwnIdentity, readIdentity } from './binding-imds.ts';

/**
 * Which binding source vouches for the members of each cloud, from the agent's config. Only an
 * agent that knows the pool definition (a local or EC2 agent: `scaling.definition`) can tell a
 * cloud's provider; others (ssh agents) check nobody and keep the first-claim rule.
 *
 *  - local: the launcher's record, read from `<stateDir>/local/instances.json` (the same host,
 *    the same user: agents read the file the launcher writes). It vouches only while it names
 *    this agent itself (our instance with our peer id): an agent started by hand next to a
 *    state dir was not launched from it, and must not reject its peers by it.
 *  - ec2: the identity document, when the cloud names an `identityCertificate` (PEM).
 *  - a cloud the definition does not have: nothing can be bound to it.
 *  - ssh (and ec2 without a certificate): unchecked (README: what binding does not cover).
 */
export function bindingSources(c: AgentConfig, self: { peerId: string }): (cloud: string) => BindingSource | undefined {
  const def = c.scaling?.definition;
  if (!def) return () => undefined;
  const local = c.scaling
    ? localRecords(join(c.scaling.stateDir, 'local', 'instances.json'), c.instanceId, self)
    : null;
  const sources = new Map<string, BindingSource | undefined>();
  for (const [name, cloud] of Object.entries(def.clouds)) {
    const using = (cloud as { using?: { provider?: string; identityCertificate?: unknown; region?: unknown } }).using;
    if (using?.provider === 'local' && local) sources.set(name, local);
    else if (using?.provider === 'ec2' && typeof using.identityCertificate === 'string')
      sources.set(
        name,
        ec2IdentitySource({
          certificate: using.identityCertificate,
          ...(typeof using.region === 'string' ? { region: using.region } : {}),
        }),
      );
    else sources.set(name, undefined);
  }
  return (cloud) => (sources.has(cloud) ? sources.get(cloud) : noSuchCloud);
}

/** Our own identity document reader, when our cloud checks members by it (EC2 with a certificate). */
export function ownIdentity(
  c: AgentConfig,
  log: (msg: string, fields: Record<string, unknown>) => void,
): OwnIdentity | undefined {
  const using = (c.scaling?.definition.clouds[c.cloud] as { using?: Record<string, unknown> } | undefined)?.using;
  if (using?.provider !== 'ec2' || typeof using.identityCertificate !== 'string') return undefined;
  return new OwnIdentity(() => readIdentity(), log);
}

const noSuchCloud: BindingSource = {
  name: 'pool-definition',
  check: (claim) => ({ kind: 'unbound', reason: 'no-instance', detail: `the pool has no cloud '${claim.cloud}'` }),
};

/**
 * The local launcher's record as a source: a stat per check (cheap), a read only when the file
 * changed. Unchecked while the record does not name ourselves.
 */
function localRecords(file: string, selfInstance: string, self: { peerId: string }): BindingSource {
  let instances = new Map<string, LaunchedInstance>();
  let mtime = -1;
  const refresh = () => {
    try {
      const m = statSync(file).mtimeMs;
      if (m === mtime) return;
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
  };
  const records = launcherRecordSource(() => instances);
  return {
    name: records.name,
    check(claim) {
      refresh();
      const me = instances.get(selfInstance);
      if (me?.peerId !== self.peerId) return { kind: 'unchecked' };
      return records.check(claim);
    },
  };
}
