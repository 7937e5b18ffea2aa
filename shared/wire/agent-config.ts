import * as z from 'zod';
import { scalingSchema } from '../config/scaling-schema.ts';
import type { PoolDefinition } from '../config/schema.ts';
import { agentTunablesSchema, RETIRED_TUNABLES } from '../config/tunables.ts';
import { parseRule } from '../scaling/rule.ts';
import { poolBindingSchema } from './cloud-binding.ts';
import { IDENTITY_LIMITS } from './heartbeat.ts';
import { metricSourceSchema } from './metric-source.ts';

/**
 * What an agent needs to run, fully resolved (durations in ms). Written as JSON by whoever starts
 * the agent (the local remoter base, the SSH provisioner, EC2 user data) and read by
 * `poolparty-agent --config FILE` through this schema, so writer and reader agree on one
 * definition. Only the agent parses it (agent/config.ts, loaded lazily so an idle agent's heap
 * does not keep zod); everything else imports the types.
 */

const nonEmpty = z.string().min(1);
const positive = z.number().int().positive();
const tcpPort = z.number().int().min(1).max(65535);

const bundleSchema = z.strictObject({
  /** sha256 of the desired bundle archive (hex). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: 'expected a sha256 hex digest' }),
  /**
   * An SSH host holding `<dir>/<sha256>.tar.gz`, tried after the local cache and before peers.
   * Its host key must already be known (knownHostsFile or a pinned SHA256 fingerprint): a node
   * has no operator to confirm a new one.
   */
  sftp: z
    .strictObject({
      host: nonEmpty,
      port: tcpPort,
      user: nonEmpty,
      /** Private key the node logs in with. */
      keyFile: nonEmpty,
      /** Directory holding the archives. */
      dir: nonEmpty,
      knownHostsFile: nonEmpty.optional(),
      /** Pinned host key fingerprint, 'SHA256:…' as ssh-keygen -l prints it. */
      hostKey: z
        .string()
        .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, { error: 'expected a SHA256:… fingerprint' })
        .optional(),
    })
    .refine((s) => s.knownHostsFile !== undefined || s.hostKey !== undefined, {
      error: 'needs knownHostsFile or hostKey: a node never trusts an unknown host key',
    })
    .optional(),
});

/**
 * The tunables as written by the CLI that launched the agent. A tunable an older CLI still writes
 * after it was retired is dropped: the agent starts rather than fail over a key that does nothing.
 */
const tunablesSchema = z.preprocess((value) => {
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !(key in RETIRED_TUNABLES)));
}, agentTunablesSchema);

/**
 * The pool definition as the CLI resolved it from clouds.ts (validated there; only its shape is
 * checked here). Typed as what it is, since the leader's remoter base launches agents from it.
 */
const carriedDefinitionSchema = z.looseObject({
  name: z.string(),
  clouds: z.record(z.string(), z.unknown()),
}) as unknown as z.ZodType<PoolDefinition>;

const scalingBlockSchema = z
  .strictObject({
    /** Fewest instances of the cloud (count). */
    min: z.number().int().nonnegative(),
    /** Most instances of the cloud (count); at least min. */
    max: positive,
    /** The cloud's scaling rules and timings (see shared/scaling/config.ts for each default). */
    config: scalingSchema,
    /** The resolved pool definition (the remoter base launches more agents from it). */
    definition: carriedDefinitionSchema,
    /** The pool's state dir on this host (local provider: instance records, pool key). */
    stateDir: nonEmpty,
  })
  .superRefine((s, ctx) => {
    if (s.min > s.max) {
      ctx.addIssue({ code: 'custom', path: ['min'], message: `${s.min} is greater than max (${s.max})` });
    }
    // Parsed again without the cloud's metric list (the CLI checked names against it).
    for (const key of ['expandWhen', 'contractWhen'] as const) {
      const text = s.config[key];
      if (!text) continue;
      try {
        parseRule(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['config', key], message: (err as Error).message });
      }
    }
  });

/**
 * Written by the CLI into the configs of agents it provisions on ssh hosts (shared/remoter/
 * ssh-certificate.ts): how this agent proves its own instance, and checks its peers'. Never holds
 * the launcher's private key.
 */
const launcherSchema = z.strictObject({
  /** The pool's launcher public key (ed25519, SPKI PEM): members of ssh clouds need its certificate. */
  publicKey: z
    .string()
    .max(1024)
    .regex(/-----BEGIN PUBLIC KEY-----/, { error: 'expected a PEM public key' }),
  /**
   * Every cloud of the pool and its provider ('ssh', 'ec2', 'local'): an ssh agent carries no pool
   * definition, and must still know which clouds exist and which of them its key vouches for.
   */
  clouds: z.record(nonEmpty, nonEmpty),
  /** This agent's certificate, carried in its record: the signed document and base64 signature. */
  certificate: z
    .strictObject({
      document: z.string().max(IDENTITY_LIMITS.document),
      signature: z.string().max(IDENTITY_LIMITS.signature),
    })
    .optional(),
});

export const agentConfigSchema = z.strictObject({
  /** Pool name. */
  pool: nonEmpty,
  /** This agent's cloud within the pool. */
  cloud: nonEmpty,
  /** The remoter base's id for this instance (local: 'local-3'; EC2: 'i-0abc…'). */
  instanceId: nonEmpty,
  /** Holds the agent's persistent identity key (peer-key, 0600) and its caches. */
  dataDir: nonEmpty,
  /** The pool's pre-shared key file (libp2p pnet format), 0600. */
  poolKeyFile: nonEmpty,
  /** libp2p listen multiaddrs, e.g. /ip4/127.0.0.2/tcp/8643. */
  listen: z.array(z.string().startsWith('/')).min(1),
  /** Multiaddrs (with /p2p/<peerId>) of members to dial first. May be empty for the first node. */
  bootstrap: z.array(z.string().startsWith('/')),
  monitor: z.strictObject({
    /** Bind address of the monitor's HTTP server. */
    host: nonEmpty,
    /** Its TCP port; 0 picks a free one (tests). */
    port: z.number().int().min(0).max(65535),
    /** The URL other nodes and the CLI use to reach this monitor; gossiped in heartbeats. */
    url: z.string(),
  }),
  /** See shared/config/tunables.ts: every tunable with its unit and default. */
  tunables: tunablesSchema,
  /**
   * The configuration bundle this node applies at first boot (before any leader announces a
   * rollout), and where else it may fetch it. Absent: the node waits for a rollout.
   */
  bundle: bundleSchema.optional(),
  /** Custom metric sources by name; the built-in load, cpu and mem are always sampled. */
  metrics: z.record(z.string(), metricSourceSchema),
  /**
   * Present when this agent may act as leader for its cloud: bounds, rules, and what it needs to
   * build the cloud's remoter base. Absent: the agent takes part in the election but never acts.
   */
  scaling: scalingBlockSchema.optional(),
  /** Binding by launcher certificate (ssh clouds); absent: members of ssh clouds are unchecked. */
  launcher: launcherSchema.optional(),
  /** How each cloud's members prove their instance (shared/wire/cloud-binding.ts); absent: from the definition or launcher block. */
  binding: poolBindingSchema.optional(),
  /**
   * The pool's upgrade public key (ed25519, SPKI PEM; shared/upgrade/key.ts): the agent runs a new
   * artifact only with a manifest it signed. Absent: every upgrade is refused.
   */
  upgrade: z
    .strictObject({
      publicKey: z
        .string()
        .max(1024)
        .regex(/-----BEGIN PUBLIC KEY-----/),
    })
    .optional(),
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;
export type AgentBundleConfig = z.infer<typeof bundleSchema>;
