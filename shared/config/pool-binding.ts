import type { PoolBinding } from '../wire/cloud-binding.ts';
import type { PoolDefinition } from './schema.ts';

/**
 * The pool's binding table (shared/wire/cloud-binding.ts) from its definition (pure). What the
 * definition cannot say — where the local launcher keeps its record, the ssh launcher's public
 * key — only the launcher knows: it stamps them on the definition (`withBinding`) before
 * resolving any agent config, and the stamp travels in the carried definition, so a leader that
 * launches an agent passes on the same table it was given.
 */

/** What the launcher adds to the definition: facts of its own state dir. */
export interface LauncherFacts {
  /** Absolute path of the local launcher's instances.json. */
  records?: string;
  /** The ssh launcher's public key (SPKI PEM). */
  publicKey?: string;
  /**
   * The pool's upgrade public key (SPKI PEM, shared/upgrade/key.ts). Carried like the table, so
   * agents a leader launches (EC2, vsphere) can verify upgrades as the first ones can.
   */
  upgradeKey?: string;
}

/** A pool definition as agents carry it: with the launcher's binding table once stamped. */
export type BoundPool = PoolDefinition & { binding?: PoolBinding; upgradeKey?: string };

/** The table agents are given: the stamped one, else what the definition alone says. */
export function poolBinding(pool: PoolDefinition): PoolBinding {
  const stamped = (pool as BoundPool).binding;
  return stamped ? structuredClone(stamped) : deriveBinding(pool, {});
}

/** The definition with the launcher's table stamped on it (a copy; the input is not changed). */
export function withBinding(pool: PoolDefinition, facts: LauncherFacts): BoundPool {
  return {
    ...pool,
    binding: deriveBinding(pool, facts),
    ...(facts.upgradeKey ? { upgradeKey: facts.upgradeKey } : {}),
  };
}

/** The upgrade public key the launcher stamped on the definition, if it did. */
export function poolUpgradeKey(pool: PoolDefinition): string | undefined {
  const key = (pool as BoundPool).upgradeKey;
  return typeof key === 'string' ? key : undefined;
}

/** Clouds of a provider binding does not know are left out: their members stay unchecked. */
function deriveBinding(pool: PoolDefinition, facts: LauncherFacts): PoolBinding {
  const table: PoolBinding = {};
  for (const [name, cloud] of Object.entries(pool.clouds)) {
    const using = cloud.using as { provider: string } & Record<string, unknown>;
    const text = (key: string) => (typeof using[key] === 'string' ? { [key]: using[key] as string } : {});
    if (using.provider === 'local')
      table[name] = { provider: 'local', ...(facts.records ? { records: facts.records } : {}) };
    else if (using.provider === 'ssh')
      table[name] = { provider: 'ssh', ...(facts.publicKey ? { publicKey: facts.publicKey } : {}) };
    else if (using.provider === 'ec2')
      table[name] = { provider: 'ec2', ...text('identityCertificate'), ...text('region'), ...text('accountId') };
  }
  return table;
}
