import type { RemoterBase } from '../../shared/remoter/types.ts';
import type { AgentConfig } from '../../shared/wire/agent-config.ts';
import type { PoolNode } from '../p2p/node.ts';
import type { BindingSource } from './binding.ts';
import { type Ec2ListingOptions, Ec2ListingSource, JUDGE_WITHIN_MS } from './binding-ec2-listing.ts';
import type { ListedInstance } from './binding-ec2-listing-verdict.ts';
import { connectedFrom, locatePeer } from './binding-ec2-reach.ts';

/**
 * Builds the listing source (binding-ec2-listing.ts) of each ec2 cloud without
 * `identityCertificate`, for bindingSources: the leader lists through the cloud's own remoter,
 * loaded on the first listing (so a follower never loads the AWS SDK), with few retries — a
 * throttled listing should leave members unchecked and free the request budget, not queue.
 */

/** How the listing is timed (ms). */
export const LISTING_TIMING: Readonly<
  Record<'ttl' | 'minInterval' | 'retryAfter' | 'dialTimeout' | 'judgeWithin', number>
> = {
  /** A listing and its verdicts are reused this long (the agent's bindingListingTtl tunable). */
  ttl: 60_000,
  /** At most one listing per this, for every claim pending meanwhile. */
  minInterval: 2000,
  /** After a failed listing (throttled, refused), none for this long. */
  retryAfter: 10_000,
  /** How long a dial to the listed address may take. */
  dialTimeout: 3000,
  /**
   * Longest a claim new to the leader is held (takes no part) while its listing and dial run;
   * then it is unchecked, logged. A listing answers in well under a second; a hung one must not
   * keep a real new member out for long.
   */
  judgeWithin: JUDGE_WITHIN_MS,
};

export interface Ec2ListingsInput {
  config: AgentConfig;
  node: PoolNode;
  /** Whether this agent leads now (it alone lists). */
  acting: () => boolean;
  now: () => number;
  log: (msg: string, fields: Record<string, unknown>) => void;
  timing?: Partial<typeof LISTING_TIMING>;
  /** The refusals of the leader this node follows (binding-ec2-listing-held.ts), shared by every cloud's source. */
  held?: Ec2ListingOptions['held'];
  /** Told of each source made (the load exchange reads their refusals for the leader's summary). */
  made?: (source: Ec2ListingSource) => void;
}

/**
 * The listing source of `cloud` (an ec2 cloud without identityCertificate, as the binding table or
 * the definition says), or why the agent cannot list it. An agent that cannot list (no pool
 * definition: it never leads) still takes the refusals of the leader it follows (`held`): its
 * source refuses what the leader refused and leaves the rest unchecked (`leaderRefusals`).
 */
export function ec2Listings(i: Ec2ListingsInput): (cloud: string) => BindingSource | string {
  const t = { ...LISTING_TIMING, ...i.timing };
  const cannot = (why: string): BindingSource | string => (i.held ? leaderRefusals(i.held, why) : why);
  return (cloud) => {
    const s = i.config.scaling;
    if (!s) return cannot('this agent carries no pool definition, so it never leads nor lists');
    const using = s.definition.clouds[cloud]?.using as { provider?: unknown; p2pPort?: unknown } | undefined;
    if (using?.provider !== 'ec2') return cannot(`cloud ${cloud} is not an ec2 cloud of the pool definition`);
    const port = using.p2pPort;
    if (typeof port !== 'number') return cannot(`cloud ${cloud} names no p2pPort`);
    let remoter: Promise<RemoterBase> | undefined;
    const list = async (): Promise<ListedInstance[]> => {
      remoter ??= import('../../shared/remoter/load.ts').then(({ loadRemoter }) =>
        loadRemoter({
          pool: s.definition,
          cloud,
          stateDir: s.stateDir,
          poolKeyFile: i.config.poolKeyFile,
          ec2: { maxAttempts: 2, throttleRetries: 0 },
        }),
      );
      const r = await remoter.catch((err: unknown) => {
        remoter = undefined;
        throw err;
      });
      return r.list({ pool: s.definition.name, cloud });
    };
    const source = new Ec2ListingSource({
      pool: s.definition.name,
      cloud,
      acting: i.acting,
      list,
      connectedFrom: (peerId) => connectedFrom(i.node, peerId),
      locate: (peerId, ip) => locatePeer(i.node, peerId, ip, port, t.dialTimeout),
      now: i.now,
      ttl: t.ttl,
      minInterval: t.minInterval,
      retryAfter: t.retryAfter,
      judgeWithin: t.judgeWithin,
      log: i.log,
      ...(i.held ? { held: i.held } : {}),
    });
    i.made?.(source);
    return source;
  };
}

/** Name of the source of an agent that cannot list: it only honours the leader's refusals. */
export const LEADER_REFUSALS = 'ec2-leader-refusals';

/**
 * The binding source of an ec2 cloud this agent cannot list: the leader's refusals as its summary
 * carried them (binding-ec2-listing-held.ts), `unchecked` for every other claim. `why` says why it
 * cannot list (for the start-up log line).
 */
export function leaderRefusals(
  held: NonNullable<Ec2ListingOptions['held']>,
  why: string,
): BindingSource & { readonly why: string } {
  return {
    name: LEADER_REFUSALS,
    why,
    check: (claim) => held.verdict(claim.peerId) ?? { kind: 'unchecked' },
    revision: () => held.revision(),
  };
}
