import type { EC2Client, EC2ClientConfig } from '@aws-sdk/client-ec2';
import type { Logger } from '../log.ts';
import { EC2_REMOTER_DEFAULTS, type Ec2RemoterTunables, pickDefined } from './remoter-tunables.ts';
import type { LaunchContext } from './types.ts';

export { EC2_REMOTER_DEFAULTS, type Ec2RemoterTunables };

/** What the EC2 remoter base (ec2.ts) is built with: its tunables (remoter-tunables.ts) and options. */

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
  return pickDefined(EC2_REMOTER_DEFAULTS, opts);
}
