/**
 * The package's public surface, imported by clouds.ts files as 'poolparty'. Kept free of heavy
 * imports (libp2p, zod) because every config load goes through it.
 */

export type {
  ConfigureDefinition,
  HookEvent,
  HookSpec,
  ResolverName,
  VerifierSpec,
} from './config/configure-schema.ts';
export type { BlockDeviceInput, Ec2Options, Ec2Using, Ec2UsingDefinition } from './config/ec2-schema.ts';
export type { LocalUsingDefinition } from './config/local-schema.ts';
export type { CloudDefinition, PoolDefinition, UsingDefinition } from './config/schema.ts';
export type { SshHostInput, SshOptions, SshUsing } from './config/ssh-input.ts';
export type { SshHostDefinition, SshInit, SshUsingDefinition } from './config/ssh-schema.ts';
export type { AgentTunables } from './config/tunables.ts';
export type { VsphereOptions, VsphereUsing, VsphereUsingDefinition } from './config/vsphere-schema.ts';
export type {
  CloudInput,
  LocalOptions,
  LocalUsing,
  MetricInput,
  PoolInput,
  ScalingInput,
  TunablesInput,
  UsingInput,
} from './define.ts';
export { definePool, ec2, local, ssh, vsphere } from './define.ts';
export type { Duration } from './duration.ts';
// Resources, plugins and their constructors (file(), exec(), template(), definePlugin …): zod-free.
export * from './resources/index.ts';
export type { ScalingConfig, VictimPolicy } from './scaling/config.ts';
export type { AgentConfig } from './wire/agent-config.ts';
export type {
  ClusterView,
  HealthView,
  LeaderDetail,
  LeaderEvent,
  MemberEvent,
  MemberState,
  MemberView,
  PoolEvent,
  ScalingDecision,
  ScalingEvent,
} from './wire/cluster.ts';
export type { MetricSourceSpec } from './wire/metrics.ts';
