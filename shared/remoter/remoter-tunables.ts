import * as z from 'zod';

/**
 * The tunables of every remoter base, in one place: each field with its unit, its default and why
 * that default. Types are the schemas' outputs and the defaults tables are the schemas parsed from
 * nothing, so a default is written once. The bases merge what their options set over these
 * defaults (pickDefined); the options themselves are not parsed, so a base keeps its own errors.
 */

const ms = z.number().int().min(0);
const count = z.number().int().min(1);

/** The state-file lock that the local and ssh bases take around every read-modify-write. */
const lockFields = {
  /** Give up waiting for the state lock after this long (ms). Default 10000. */
  lockTimeout: ms.default(10_000),
  /** Retry interval while another process holds the lock (ms). Default 25. */
  lockPoll: ms.default(25),
  /** A lock file without a readable pid older than this is stale (ms). Default 5000. */
  lockStaleAfter: ms.default(5000),
};

export const ec2RemoterTunablesSchema = z.strictObject({
  /** SDK attempts per request, adaptive retry mode (count). Default 5. */
  maxAttempts: count.default(5),
  /** Further rounds when the SDK gave up on throttling (count). Default 3. */
  throttleRetries: z.number().int().min(0).default(3),
  /** First wait before such a round (ms), doubling up to throttleBackoffMax. Default 2000. */
  throttleBackoff: ms.default(2000),
  /** Longest wait between throttled rounds (ms). Default 20000. */
  throttleBackoffMax: ms.default(20_000),
  /** Passes over the subnet list on InsufficientInstanceCapacity (count). Default 2. */
  capacityRounds: count.default(2),
  /** Wait between two passes (ms), doubling. Default 10000: capacity rarely comes back sooner. */
  capacityBackoff: ms.default(10_000),
  /** DescribeInstances page size (EC2: 5..1000; the base checks it). Default 1000. */
  pageSize: z.number().int().min(5).max(1000).default(1000),
  /** Instance ids per DescribeInstances/TerminateInstances call in terminate (count). Default 50. */
  terminateBatch: count.default(50),
});
export type Ec2RemoterTunables = z.output<typeof ec2RemoterTunablesSchema>;
export const EC2_REMOTER_DEFAULTS: Readonly<Ec2RemoterTunables> = Object.freeze(ec2RemoterTunablesSchema.parse({}));

export const sshRemoterTunablesSchema = z.strictObject({
  ...lockFields,
  /** `list` asks each agent's /health with this timeout (ms). Default 1500: a listing must stay quick. */
  healthTimeout: ms.default(1500),
});
export type SshRemoterTunables = z.output<typeof sshRemoterTunablesSchema>;
export const SSH_REMOTER_DEFAULTS: Readonly<SshRemoterTunables> = Object.freeze(sshRemoterTunablesSchema.parse({}));

export const localRemoterTunablesSchema = z.strictObject({
  /**
   * How long terminate waits after SIGTERM before SIGKILL (ms). Default 5000: an agent's graceful
   * leave takes leaveGrace (500ms) plus shutdown; longer only slows `terminate`.
   */
  terminateGrace: ms.default(5000),
  /** How often terminate checks whether processes exited (ms). Default 100. */
  terminatePoll: ms.default(100),
  ...lockFields,
  /** Most loopback addresses examined per launch (count). Default 1024. */
  maxAddressScan: count.default(1024),
  /** Terminated records kept in instances.json (count). Default 50. */
  keepTerminated: z.number().int().min(0).default(50),
});
export type LocalRemoterTunables = z.output<typeof localRemoterTunablesSchema>;
export const LOCAL_REMOTER_DEFAULTS: Readonly<LocalRemoterTunables> = Object.freeze(
  localRemoterTunablesSchema.parse({}),
);

export const vsphereRemoterTunablesSchema = z.strictObject({
  /** VMs per PropertyCollector page (maxObjects, count). Default 100. */
  pageSize: count.default(100),
  /** A vCenter task's bound, e.g. a clone (ms). Default 600000 (10 min): a full clone is slow. */
  taskTimeoutMs: ms.default(600_000),
  /** Concurrent power-off/destroy pairs in terminate (count). Default 4. */
  terminateParallel: count.default(4),
  /** One SOAP request's bound (ms). Default 60000. */
  requestTimeoutMs: ms.default(60_000),
  /** First wait between polls of a task (ms), growing 1.5× up to 2000. Default 100. */
  taskPollMs: ms.default(100),
});
export type VsphereRemoterTunables = z.output<typeof vsphereRemoterTunablesSchema>;
export const VSPHERE_REMOTER_DEFAULTS: Readonly<VsphereRemoterTunables> = Object.freeze(
  vsphereRemoterTunablesSchema.parse({}),
);

/**
 * The tunables `opts` sets, among those `defaults` names, without the undefined ones, so that
 * `{ ...defaults, ...pickDefined(defaults, opts) }` keeps a default where an option is left unset
 * (a plain spread would overwrite it with undefined).
 */
export function pickDefined<T extends object>(defaults: Readonly<T>, opts: Partial<T>): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(defaults) as (keyof T)[]) {
    if (opts[key] !== undefined) out[key] = opts[key];
  }
  return out;
}
