import type { AgentRuntime } from '../config/resolve.ts';
import { type HostTarget, type ProvisionHostOptions, provisionHost } from '../provision/provision.ts';
import type { AgentConfig } from '../wire/agent-config.ts';
import type { SshHostRecord } from './ssh-state.ts';
import { deferred, dialAddress } from './ssh-util.ts';

/** Provisioning a launch's hosts at once, each agent bootstrapped with the others. */

export type Outcome = { ok: true; peerId: string; init: 'systemd' | 'none' } | { ok: false; error: Error };

export interface BatchSettings {
  /** Where each host is reached and installed. */
  target: (h: SshHostRecord) => HostTarget;
  /** What every host's provisioning shares: known_hosts, pool key, artifact, env, timeouts, progress. */
  common: Omit<ProvisionHostOptions, 'target' | 'agentConfig' | 'bundle'>;
  /** The cloud's configuration bundle, uploaded with every agent. */
  bundle?: { sha256: string; bytes: Buffer };
  /** The agent's config for its runtime and peer id (which its launcher certificate names). */
  agentConfig: (runtime: AgentRuntime, peerId: string) => AgentConfig;
}

/**
 * Provisions the batch in parallel. Every agent is given every other agent as a bootstrap peer:
 * peer ids are only known once each host is probed, so each config waits until all the batch's
 * hosts have been probed (or failed). `existing` are the cloud's running hosts, dialled first.
 */
export async function provisionBatch(
  batch: SshHostRecord[],
  existing: SshHostRecord[],
  settings: BatchSettings,
): Promise<Outcome[]> {
  const { bundle } = settings;
  const probed = batch.map(() => deferred<string>());
  const allProbed = Promise.allSettled(probed.map((d) => d.promise));
  const known = existing.map((h) => dialAddress(h, h.peerId as string));
  const settled = await Promise.allSettled(
    batch.map((rec, i) =>
      provisionHost({
        ...(bundle ? { bundle } : {}),
        ...settings.common,
        target: settings.target(rec),
        agentConfig: async (ctx) => {
          probed[i]?.resolve(ctx.peerId);
          const peers = await allProbed;
          const batchPeers = peers.flatMap((p, j) =>
            p.status === 'fulfilled' && j !== i ? [dialAddress(batch[j] as SshHostRecord, p.value)] : [],
          );
          return settings.agentConfig(
            {
              instanceId: rec.id,
              dataDir: ctx.paths.dataDir,
              poolKeyFile: ctx.paths.poolKeyFile,
              stateDir: ctx.paths.stateDir,
              listen: [`/ip4/${rec.bind}/tcp/${rec.p2pPort}`],
              bootstrap: [...known, ...batchPeers],
              monitor: { host: rec.bind, port: rec.monitorPort, url: rec.monitor },
            },
            ctx.peerId,
          );
        },
      }).catch((err: unknown) => {
        probed[i]?.reject(err); // no-op when it was probed already
        throw err;
      }),
    ),
  );
  return settled.map((s) =>
    s.status === 'fulfilled'
      ? { ok: true, peerId: s.value.peerId, init: s.value.init }
      : { ok: false, error: s.reason instanceof Error ? s.reason : new Error(String(s.reason)) },
  );
}
