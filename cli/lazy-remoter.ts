import { loadRemoter, type RemoterContext, remoterProvider } from '../shared/remoter/load.ts';
import { withLauncherBinding } from '../shared/remoter/pool-binding.ts';
import type { RemoterBase } from '../shared/remoter/types.ts';

/**
 * A cloud's remoter base whose provider module is imported on its first call: a command that
 * opens a pool but never asks its provider anything (show, compile) loads neither the AWS SDK nor
 * ssh2 nor the identity code of local agents, and one that does loads only its clouds' providers.
 * An unknown provider still fails at once, as building the remoter did.
 */
export function lazyRemoter(ctx: RemoterContext): RemoterBase {
  const provider = remoterProvider(ctx);
  let loading: Promise<RemoterBase> | undefined;
  const real = () => {
    // Stamped first: the agents this launches carry how every cloud's members are checked.
    loading ??= withLauncherBinding(ctx).then(loadRemoter);
    return loading;
  };
  return {
    provider,
    launch: async (req) => (await real()).launch(req),
    list: async (filter) => (await real()).list(filter),
    terminate: async (ids) => (await real()).terminate(ids),
    // Every provider reconciles; one that did not would have nothing to settle.
    reconcile: async (filter) => {
      const r = await real();
      return r.reconcile ? r.reconcile(filter) : { adopted: [], cleared: [], strays: [] };
    },
  };
}
