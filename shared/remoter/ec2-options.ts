import type { EC2Client, EC2ClientConfig } from '@aws-sdk/client-ec2';
import type { Logger } from '../log.ts';
import type { LaunchContext } from './types.ts';

/** What the EC2 remoter base (ec2.ts) is built with: its tunables and options. */

export interface Ec2RemoterTunables {
  /** SDK attempts per request, adaptive retry mode (count). Default 5. */
  maxAttempts: number;
  /** Further rounds when the SDK gave up on throttling (count). Default 3. */
  throttleRetries: number;
  /** First wait before such a round (ms), doubling up to throttleBackoffMax. Default 2000. */
  throttleBackoff: number;
  /** Longest wait between throttled rounds (ms). Default 20000. */
  throttleBackoffMax: number;
  /** Passes over the subnet list on InsufficientInstanceCapacity (count). Default 2. */
  capacityRounds: number;
  /** Wait between two passes (ms), doubling. Default 10000: capacity rarely comes back sooner. */
  capacityBackoff: number;
  /** DescribeInstances page size (EC2: 5..1000). Default 1000. */
  pageSize: number;
  /** Instance ids per DescribeInstances/TerminateInstances call in terminate (count). Default 50. */
  terminateBatch: number;
}

export const EC2_REMOTER_DEFAULTS: Ec2RemoterTunables = {
  maxAttempts: 5,
  throttleRetries: 3,
  throttleBackoff: 2000,
  throttleBackoffMax: 20_000,
  capacityRounds: 2,
  capacityBackoff: 10_000,
  pageSize: 1000,
  terminateBatch: 50,
};

/** The cloud's `using` must be ec2(); the pool key is created at poolKeyFile if missing. */
export interface Ec2RemoterOptions extends Partial<Ec2RemoterTunables>, LaunchContext {
  /** The systemd unit text. Default: <package>/systemd/poolparty-agent.service. */
  unit?: string;
  /** A ready client (tests, custom middleware); otherwise one is built from `using` and the env. */
  client?: EC2Client;
  /** SDK retry strategy override (tests shorten delays); default adaptive with maxAttempts. */
  retryStrategy?: EC2ClientConfig['retryStrategy'];
  log?: Logger;
}

/** The tunables `opts` sets, without the undefined ones (so defaults fill the rest). */
export function definedOnly(opts: Partial<Ec2RemoterTunables>): Partial<Ec2RemoterTunables> {
  const out: Partial<Ec2RemoterTunables> = {};
  for (const key of Object.keys(EC2_REMOTER_DEFAULTS) as (keyof Ec2RemoterTunables)[]) {
    if (opts[key] !== undefined) out[key] = opts[key];
  }
  return out;
}
