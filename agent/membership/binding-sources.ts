import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig } from '../../shared/wire/agent-config.ts';
import { type BindingSource, type LaunchedInstance, launcherRecordSource } from './binding.ts';
import { ec2IdentitySource } from './binding-ec2.ts';
import { OwnIdentity, readIdentity } from './binding-imds.ts';
import { launcherCertificateSource } from './binding-ssh.ts';

/**
 * Which binding source vouches for the members of each cloud, from the agent's config. The
 * pool's clouds come from the pool definition (local and EC2 agents: `scaling.definition`), else
 * from the launcher block (ssh agents carry no definition, only each cloud's provider).
 *
 *  - local: the launcher's record, read from `<stateDir>/local/instances.json` (the same host,
 *    the same user: agents read the file the launcher writes). It vouches only while it names
 *    this agent itself (our instance with our peer id): an agent started by hand next to a
 *    state dir was not launched from it, and must not reject its peers by it.
 *  - ec2: the identity document, when the cloud names an `identityCertificate` (PEM), from the
 *    cloud's `accountId` when it names one.
 *  - ssh: the launcher certificate, when this agent's config holds the launcher's public key.
 *  - a cloud the pool does not have: nothing can be bound to it.
 * Every other cloud is unchecked (first claim wins); `warn` is told so once per cloud, here, at
 * agent start. An agent that knows no cloud at all checks nobody.
 */
export function bindingSources(
  c: AgentConfig,
  self: { peerId: string },
  warn: (msg: string, fields: Record<string, unknown>) => void = () => undefined,
): (cloud: string) => BindingSource | undefined {
  const clouds = cloudsOf(c);
  if (!clouds) {
    warn('binding-unchecked', { cloud: '*', why: 'this agent knows neither the pool definition nor a launcher key' });
    return () => undefined;
  }
  const local = c.scaling
    ? localRecords(join(c.scaling.stateDir, 'local', 'instances.json'), c.instanceId, self)
    : undefined;
  const sources = new Map<string, BindingSource | undefined>();
  for (const [name, using] of clouds) {
    const chosen = sourceFor(c, using, local);
    if (typeof chosen === 'string') warn('binding-unchecked', { cloud: name, provider: using.provider, why: chosen });
    sources.set(name, typeof chosen === 'string' ? undefined : chosen);
  }
  // A certificate that does not bind us (a peer key replaced on the host by hand, a config from
  // another pool) makes every peer ignore us: said at start, not discovered from their silence.
  const own = c.launcher?.certificate;
  const mine =
    own &&
    sources.get(c.cloud)?.check({ peerId: self.peerId, instanceId: c.instanceId, cloud: c.cloud, identity: own });
  if (mine && mine.kind === 'unbound') warn('own-certificate-refused', { detail: mine.detail });
  return (cloud) => (sources.has(cloud) ? sources.get(cloud) : noSuchCloud);
}

/** What a cloud's `using` says that binding reads (carried as plain JSON, so checked field by field). */
interface CloudUsing {
  provider?: unknown;
  identityCertificate?: unknown;
  region?: unknown;
  accountId?: unknown;
}

/** The pool's clouds and what each uses: the carried definition, else the launcher block's list. */
function cloudsOf(c: AgentConfig): Map<string, CloudUsing> | undefined {
  const def = c.scaling?.definition;
  if (def)
    return new Map(Object.entries(def.clouds).map(([n, cloud]) => [n, (cloud as { using?: CloudUsing }).using ?? {}]));
  if (c.launcher) return new Map(Object.entries(c.launcher.clouds).map(([n, provider]) => [n, { provider }]));
  return undefined;
}

/** The cloud's source, or why its members are unchecked. */
function sourceFor(c: AgentConfig, using: CloudUsing, local: BindingSource | undefined): BindingSource | string {
  switch (using.provider) {
    case 'local':
      return local ?? "an ssh agent cannot read the local launcher's record";
    case 'ec2':
      if (typeof using.identityCertificate !== 'string')
        return c.scaling ? 'the cloud names no identityCertificate' : 'this agent does not carry the pool definition';
      return ec2IdentitySource({
        certificate: using.identityCertificate,
        ...(typeof using.region === 'string' ? { region: using.region } : {}),
        ...(typeof using.accountId === 'string' ? { accountIds: [using.accountId] } : {}),
      });
    case 'ssh':
      return c.launcher
        ? launcherCertificateSource({ publicKey: c.launcher.publicKey, pool: c.pool })
        : "this agent's config holds no launcher key";
    default:
      return `unknown provider ${String(using.provider)}`;
  }
}

/**
 * Our own evidence for our record, when our cloud checks members by it: the launcher certificate
 * from our config (ssh), or the identity document read from IMDS (EC2 with a certificate).
 */
export function ownIdentity(
  c: AgentConfig,
  log: (msg: string, fields: Record<string, unknown>) => void,
): OwnIdentity | undefined {
  if (c.launcher?.certificate) return OwnIdentity.fixed(c.launcher.certificate);
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
