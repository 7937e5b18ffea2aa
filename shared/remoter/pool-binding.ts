import { join, resolve } from 'node:path';
import { type BoundPool, withBinding } from '../config/pool-binding.ts';
import type { PoolDefinition } from '../config/schema.ts';
import { ensureUpgradeKey } from '../upgrade/key.ts';
import { ensureLauncherKey } from './ssh-certificate.ts';

/**
 * The launcher's stamp on a pool definition (the CLI's, before it launches anything): the path of
 * its local record and, when the pool has an ssh cloud, the public key of its launcher key
 * (created here if missing), so that every agent — whatever its provider — can check the members
 * of every cloud; and the public half of the pool's upgrade key, so every agent can verify upgrades. A definition already stamped (a leader's carried copy) is kept as it is: only
 * the launcher's own state dir says where its record is.
 */
export async function withLauncherBinding<C extends { pool: PoolDefinition; stateDir: string }>(
  ctx: C,
): Promise<C & { pool: BoundPool }> {
  if ((ctx.pool as BoundPool).binding) return ctx;
  const stateDir = resolve(ctx.stateDir);
  const hasSsh = Object.values(ctx.pool.clouds).some((c) => c.using.provider === 'ssh');
  const publicKey = hasSsh ? (await ensureLauncherKey(stateDir)).publicKeyPem : undefined;
  const records = join(stateDir, 'local', 'instances.json');
  // Created with the pool's first launch (bootstrap) and kept on this machine only; agents get
  // the public half, so `poolparty upgrade` can sign for every provider's agents.
  const upgradeKey = (await ensureUpgradeKey(stateDir)).publicKeyPem;
  return { ...ctx, pool: withBinding(ctx.pool, { records, upgradeKey, ...(publicKey ? { publicKey } : {}) }) };
}
