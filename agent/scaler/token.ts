import { createHash } from 'node:crypto';

/**
 * The idempotency token of one scaling action, derived from (pool, cloud, term, action number):
 * a retried call — or a second leader of the same term racing on the same action — produces the
 * same token, and the provider returns the first launch instead of starting another one.
 * At most 64 ASCII characters (EC2's ClientToken limit).
 */
export function clientToken(pool: string, cloud: string, term: number, action: number): string {
  const digest = createHash('sha256').update(`${pool}\0${cloud}\0${term}\0${action}`).digest('hex');
  return `pp-${term}-${action}-${digest}`.slice(0, 64);
}
