/** SSH provisioning of agents: the CLI's and the ssh remoter base's entry point. */
export type { Artifact, ArtifactManifest } from './artifact.ts';
export { defaultArtifactDir, loadArtifact, MIN_NODE_VERSION, nodeVersionAtLeast } from './artifact.ts';
export type { ConnectOptions, ExecResult, SshProgress, SshTarget, SshTimeouts } from './connect.ts';
export { connectSsh, readPrivateKey, SSH_TIMEOUT_DEFAULTS, SshSession } from './connect.ts';
export * from './errors.ts';
export type { HostKeyCheck, HostKeyStatus, HostKeyVerifier } from './known-hosts.ts';
export { fingerprint, hostPattern, KnownHosts, PinnedHostKeys } from './known-hosts.ts';
export type { RemoteLayout } from './layout.ts';
export { readUnitTemplate, remoteLayout, renderEnvFile, renderUnit, UNIT_NAME } from './layout.ts';
export type {
  AgentConfigContext,
  DeprovisionOptions,
  DeprovisionResult,
  HostTarget,
  InitMode,
  NodeInfo,
  ProvisionHostOptions,
  ProvisionProgress,
  ProvisionResult,
  ProvisionTimeouts,
} from './provision.ts';
export { deprovisionHost, PROVISION_TIMEOUT_DEFAULTS, provisionHost } from './provision.ts';
