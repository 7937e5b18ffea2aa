import type { AgentConfig } from '../../shared/wire/agent-config.ts';
import type { BundleSource } from './manager.ts';

/** Where bundles come from besides the cache and peers: the config's SFTP host, if any. */
export function bundleSources(config: AgentConfig, signal: AbortSignal): BundleSource[] {
  const sftp = config.bundle?.sftp;
  if (!sftp) return [];
  const maxBytes = config.tunables.maxBundleBytes;
  return [
    {
      name: `sftp ${sftp.user}@${sftp.host}:${sftp.port}`,
      // Loaded on first use: ssh2 costs an agent that never needs it memory and startup time.
      fetch: async (sha) => (await import('./sftp-source.ts')).pullOverSftp(sftp, sha, maxBytes, { signal }),
    },
  ];
}
