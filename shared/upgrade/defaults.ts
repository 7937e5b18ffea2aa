/**
 * Upgrade defaults (docs/configuration.md lists them). A push may set the gate and
 * maxUnavailable (`poolparty upgrade --gate 3m --max-unavailable 2`).
 * - gateMs: how long a member restarted into a new artifact has to be ready (joined, serving,
 *   bundle applied) before its supervisor returns it to the previous artifact (ms). Default 120000:
 *   a loaded node needs tens of seconds to start and rejoin; longer only delays a rollback.
 * - maxUnavailable: members restarting at once (members). Default 1: the pool loses at most one.
 * - maxArtifactBytes: largest artifact accepted over the network (bytes). Default 268435456
 *   (256 MiB; the artifact is ~2 MB).
 * - tickMs: how often the leader advances a rollout and a restarted agent checks its gate (ms).
 *   Default 1000.
 */
export const UPGRADE_DEFAULTS = {
  gateMs: 120_000,
  maxUnavailable: 1,
  maxArtifactBytes: 256 * 1024 * 1024,
  tickMs: 1000,
} as const;
