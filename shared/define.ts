import type { Ec2Options, Ec2Using } from './config/ec2-schema.ts';
import type { LocalOptions, LocalUsing } from './config/local-schema.ts';
import type { MetricInput } from './config/metric-schema.ts';
import type { ScalingInput } from './config/scaling-schema.ts';
import type { CloudFieldsInput, PoolFieldsInput } from './config/schema.ts';
import type { SshUsing } from './config/ssh-input.ts';
import type { TunablesInput } from './config/tunables.ts';
import type { VsphereOptions, VsphereUsing } from './config/vsphere-schema.ts';
import type { ConfigureInput } from './resources/configure-input.ts';

/**
 * What a user writes in clouds.ts: the input types of the schemas in shared/config/, where each
 * field is documented with its default. `definePool` only exists for types (like `defineConfig`):
 * validation, defaults and unit conversion happen in `loadPool` (shared/config/load.ts). This file
 * only imports types, so loading clouds.ts never pulls in zod.
 */

export type { LocalOptions, LocalUsing, MetricInput, ScalingInput, TunablesInput };

/** Where a cloud's instances come from: a discriminated union on `provider`. */
export type UsingInput = LocalUsing | Ec2Using | SshUsing | VsphereUsing;

/**
 * One cloud: how many instances, where they come from, what they gossip, how they scale, and
 * (ConfigureInput) what they are configured with: resources, resolver, verifiers, hooks.
 */
export type CloudInput = CloudFieldsInput & ConfigureInput;

export type PoolInput = PoolFieldsInput & { clouds: Record<string, CloudInput> };

/**
 * Identity function: gives a clouds.ts file its types. Not generic on purpose: a parameter typed
 * PoolInput keeps TypeScript's excess-property check on the object literal at every level, so a
 * misspelt key (`instancez`, `firstAdress`) is an error in the editor, not only at load time.
 */
export function definePool(def: PoolInput): PoolInput {
  return def;
}

/** The local provider: instances are agent processes on this machine, one loopback address each. */
export function local(opts: LocalOptions = {}): LocalUsing {
  return { provider: 'local', ...opts };
}

/**
 * The EC2 provider (see docs/ec2.md): instances launched with RunInstances, tagged with the pool
 * and cloud. Defined here rather than re-exported from ec2-schema.ts so that loading clouds.ts
 * never pulls in zod: that file only contributes types.
 */
export function ec2(opts: Ec2Options): Ec2Using {
  return { provider: 'ec2', ...opts };
}

/**
 * The vSphere provider (see docs/vsphere.md): VMs cloned from a template into the pool's folder
 * in vCenter. Credentials come from VSPHERE_USER/VSPHERE_PASSWORD (or the url's user info).
 */
export function vsphere(opts: VsphereOptions): VsphereUsing {
  return { provider: 'vsphere', ...opts };
}

/**
 * Static SSH hosts (see docs/ssh.md): `bootstrap` provisions the agent over SSH on machines you
 * already have. Lives in ssh-input.ts (zod-free) and is re-exported here with the other providers.
 */
export { ssh } from './config/ssh-input.ts';
