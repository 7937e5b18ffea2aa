import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig } from '../../shared/wire/agent-config.ts';
import type { CloudBinding } from '../../shared/wire/cloud-binding.ts';
import type { BindingSource } from './binding.ts';
import { ec2IdentitySource } from './binding-ec2.ts';
import { LEADER_REFUSALS } from './binding-ec2-listers.ts';
import { OwnIdentity, readIdentity } from './binding-imds.ts';
import { ownLocalRecords, peerLocalRecords } from './binding-local.ts';
import { launcherCertificateSource } from './binding-ssh.ts';

/**
 * Which binding source vouches for the members of each cloud, from the agent's config. A claim is
 * checked by the source of the *claimed* cloud's provider, whatever this agent runs on; what each
 * needs comes from the config's binding table (every agent carries it, shared/wire/cloud-binding.ts),
 * else — configs written before the table — from the carried pool definition (local and EC2
 * agents) or the launcher block (ssh agents: each cloud's provider and the launcher's key).
 *
 *  - local: the launcher's record (`instances.json`). An agent of a local cloud reads it only
 *    while it names this agent itself (see ownLocalRecords); an agent of another provider reads it
 *    when its host has the file (an ssh host that is the launcher's machine), else cannot check.
 *  - ec2: the identity document, when the cloud names an `identityCertificate` (PEM), from the
 *    cloud's `accountId` when it names one; without one, the provider's listing when `listing`
 *    gives a source for the cloud (binding-ec2-listers.ts: only the leader lists), or, on an
 *    agent that cannot list (no pool definition), the refusals of the leader it follows.
 *  - ssh: the launcher certificate, checked with the launcher's public key.
 *  - a cloud the pool does not have: nothing can be bound to it.
 * Every other cloud is unchecked (first claim wins); `warn` is told so once per cloud, here, at
 * agent start. An agent that knows no cloud at all checks nobody.
 */
export function bindingSources(
  c: AgentConfig,
  self: { peerId: string },
  warn: (msg: string, fields: Record<string, unknown>) => void = () => undefined,
  now: () => number = Date.now,
  /** An ec2 cloud without identityCertificate: its listing source, or why there is none. */
  listing?: (cloud: string) => BindingSource | string,
): (cloud: string) => BindingSource | undefined {
  const clouds = cloudsOf(c);
  if (!clouds) {
    warn('binding-unchecked', { cloud: '*', why: 'this agent knows neither the pool definition nor a launcher key' });
    return () => undefined;
  }
  const ownLocal = clouds.get(c.cloud)?.provider === 'local';
  const records = new Map<string, BindingSource>();
  const localSource = (file: string) => {
    let source = records.get(file);
    if (!source) {
      source = ownLocal ? ownLocalRecords(file, c.instanceId, self) : peerLocalRecords(file);
      records.set(file, source);
      if (!ownLocal && !existsSync(file))
        warn('binding-unchecked-for-now', { file, why: "the local launcher's record is not on this host (yet)" });
    }
    return source;
  };
  const sources = new Map<string, BindingSource | undefined>();
  for (const [name, binding] of clouds) {
    let chosen = sourceFor(c, binding, localSource, now);
    if (typeof chosen === 'string' && binding.provider === 'ec2' && listing) {
      const listed = listing(name);
      if (typeof listed === 'string') chosen = `${chosen}; ${listed}`;
      else {
        const byLeader = listed.name === LEADER_REFUSALS; // this agent cannot list (binding-ec2-listers.ts)
        warn(byLeader ? 'binding-by-leader' : 'binding-by-listing', {
          cloud: name,
          why: byLeader ? `${chosen}; ${(listed as { why?: string }).why}` : chosen,
          how: byLeader
            ? "claims the leader's EC2 listing refused are refused here too; others are unchecked (first claim wins)"
            : "the leader checks claims against EC2's listing",
        });
        chosen = listed;
      }
    }
    if (typeof chosen === 'string') warn('binding-unchecked', { cloud: name, provider: binding.provider, why: chosen });
    sources.set(name, typeof chosen === 'string' ? undefined : chosen);
  }
  // A certificate that does not bind us (a peer key replaced on the host by hand, a config from
  // another pool, an expired one) makes every peer ignore us: said at start, not discovered from
  // their silence.
  const own = c.launcher?.certificate;
  const mine =
    own &&
    sources.get(c.cloud)?.check({ peerId: self.peerId, instanceId: c.instanceId, cloud: c.cloud, identity: own });
  if (mine && mine.kind === 'unbound') warn('own-certificate-refused', { detail: mine.detail });
  // Said at every start from a month ahead, so the operator re-provisions before peers drop us.
  else if (mine && mine.kind === 'bound' && mine.until !== undefined && mine.until - now() < RENEW_WARNING)
    warn('own-certificate-expiring', { expiresAt: new Date(mine.until).toISOString() });
  return (cloud) => (sources.has(cloud) ? sources.get(cloud) : noSuchCloud);
}

/** How long before its certificate expires an agent starts warning at start (ms): 30 days. */
export const RENEW_WARNING = 30 * 86_400_000;

/** A cloud's binding entry, or (configs before the table, unknown providers) just its provider. */
type Binding = CloudBinding | { provider: string };

/** The pool's clouds and how each binds: the table over the carried definition, else the launcher block's list. */
function cloudsOf(c: AgentConfig): Map<string, Binding> | undefined {
  const def = c.scaling?.definition;
  const listed: [string, Binding][] = def
    ? Object.entries(def.clouds).map(([n, cloud]) => [n, legacyBinding((cloud as { using?: unknown }).using)])
    : c.launcher
      ? Object.entries(c.launcher.clouds).map(([n, provider]) => [n, { provider }])
      : [];
  if (!def && !c.launcher && !c.binding) return undefined;
  const clouds = new Map<string, Binding>(listed);
  for (const [n, b] of Object.entries(c.binding ?? {})) clouds.set(n, b);
  return clouds;
}

/** What a carried definition's `using` says binding reads (plain JSON, so checked field by field). */
function legacyBinding(using: unknown): Binding {
  const u = (typeof using === 'object' && using !== null ? using : {}) as Record<string, unknown>;
  const text = (key: string) => (typeof u[key] === 'string' ? { [key]: u[key] as string } : {});
  if (u.provider === 'ec2')
    return { provider: 'ec2', ...text('identityCertificate'), ...text('region'), ...text('accountId') };
  return { provider: String(u.provider) };
}

/** The cloud's source, or why its members are unchecked. */
function sourceFor(
  c: AgentConfig,
  b: Binding,
  localSource: (file: string) => BindingSource | string,
  now: () => number,
): BindingSource | string {
  const field = (key: string) => {
    const v = (b as Record<string, unknown>)[key];
    return typeof v === 'string' ? v : undefined;
  };
  switch (b.provider) {
    case 'local': {
      const file = field('records') ?? (c.scaling ? join(c.scaling.stateDir, 'local', 'instances.json') : undefined);
      return file ? localSource(file) : "this agent's config does not say where the local launcher's record is";
    }
    case 'ec2': {
      const certificate = field('identityCertificate');
      if (!certificate)
        return c.scaling || c.binding
          ? 'the cloud names no identityCertificate'
          : 'this agent does not carry the pool definition';
      const region = field('region');
      const accountId = field('accountId');
      return ec2IdentitySource({
        certificate,
        ...(region ? { region } : {}),
        ...(accountId ? { accountIds: [accountId] } : {}),
      });
    }
    case 'ssh': {
      const publicKey = field('publicKey') ?? c.launcher?.publicKey;
      return publicKey
        ? launcherCertificateSource({ publicKey, pool: c.pool, now })
        : "this agent's config holds no launcher key";
    }
    default:
      return `unknown provider ${String(b.provider)}`;
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
