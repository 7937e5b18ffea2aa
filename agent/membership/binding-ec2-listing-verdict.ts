import { TAG_CLOUD, TAG_POOL } from '../../shared/remoter/types.ts';
import type { Claim, Verdict } from './binding.ts';

/**
 * The listing rule for an EC2 cloud without `identityCertificate` (pure): a claim is bound iff the
 * provider lists the instance as the pool's and the cloud's, pending or running, and the claimant
 * answers at the instance's private address as a connection saw it (not the address the claimant
 * gossips). Anything else is unbound, with a detail that names both sides.
 */

/** An instance as the provider lists it (the remoter's InstanceRecord, the fields used here). */
export interface ListedInstance {
  id: string;
  /** 'pending' | 'running' | 'stopping' | 'terminated'. */
  state: string;
  privateIp?: string;
  tags: Record<string, string>;
}

/** Where the claimant was found, checked against the listed instance's private address. */
export type Located =
  /** A connection authenticated as the claimant runs to or from that address. */
  | { kind: 'at' }
  /** Another peer answers at that address. */
  | { kind: 'other'; peerId: string }
  /** Nothing answered there as any peer (refused, timed out). */
  | { kind: 'unreachable'; error: string };

const LIVE = new Set(['pending', 'running']);

/**
 * The listing's word on a claim before the address is checked: an unbound verdict, or the address
 * the claimant must answer at (undefined: the listing names none, so the claim stays unchecked).
 */
export function listedAddress(
  claim: Claim,
  inst: ListedInstance | undefined,
  pool: string,
): { verdict: Verdict } | { ip: string } | undefined {
  const about = `${claim.instanceId} (peer ${claim.peerId})`;
  const unbound = (detail: string): { verdict: Verdict } => ({
    verdict: { kind: 'unbound', reason: 'not-listed', detail },
  });
  if (!inst) return unbound(`EC2 lists no instance ${about} of pool ${pool}, cloud ${claim.cloud}`);
  if (inst.tags[TAG_POOL] !== pool || inst.tags[TAG_CLOUD] !== claim.cloud)
    return unbound(`${claim.instanceId} is tagged for pool ${inst.tags[TAG_POOL]}, cloud ${inst.tags[TAG_CLOUD]}`);
  if (!LIVE.has(inst.state)) return unbound(`${claim.instanceId} is ${inst.state}`);
  return inst.privateIp ? { ip: inst.privateIp } : undefined;
}

/** The verdict once the claimant was looked for at the listed address `ip`. */
export function locatedVerdict(claim: Claim, ip: string, where: Located, seenFrom: readonly string[]): Verdict {
  if (where.kind === 'at') return { kind: 'bound', by: 'ec2-listing' };
  const from = seenFrom.length > 0 ? `connects from ${seenFrom.join(', ')}` : 'has no direct connection';
  const there =
    where.kind === 'other' ? `peer ${where.peerId} answers there` : `nothing answers there (${where.error})`;
  return {
    kind: 'unbound',
    reason: 'listing-mismatch',
    detail: `${claim.instanceId} runs at ${ip}, peer ${claim.peerId} ${from}; ${there}`,
  };
}
