import { createEc2Remoter } from './ec2.ts';
import { buildRemoter, type RemoterContext } from './load.ts';
import { createLocalRemoter } from './local.ts';
import { createSshRemoter } from './ssh.ts';
import type { RemoterBase } from './types.ts';

export type { Ec2RemoterOptions, Ec2RemoterTunables } from './ec2.ts';
export { createEc2Remoter, EC2_REMOTER_DEFAULTS, Ec2Remoter } from './ec2.ts';
// The provider choice itself lives in load.ts, which the agent imports instead of this module:
// it loads only the cloud's provider (loadRemoter), where this module loads all three.
export type { RemoterContext, RemoterFactories } from './load.ts';
export { bootstrapPeers, EC2_BOOTSTRAP_PEERS, loadRemoter } from './load.ts';
export type { LocalInstanceRecord, LocalRemoterOptions, LocalRemoterTunables } from './local.ts';
export { createLocalRemoter, LOCAL_REMOTER_DEFAULTS, LocalRemoter } from './local.ts';
export type { AgentHealth, SshInstanceRecord, SshRemoterOptions, SshRemoterTunables } from './ssh.ts';
export { createSshRemoter, SSH_REMOTER_DEFAULTS, SshRemoter, SshRemoterError } from './ssh.ts';
export * from './types.ts';

/** The remoter base of a cloud, chosen by its `using.provider` (every provider loaded: the CLI's). */
export function createRemoter(ctx: RemoterContext): RemoterBase {
  return buildRemoter(ctx, { local: createLocalRemoter, ec2: createEc2Remoter, ssh: createSshRemoter });
}
