import type { IdentityEvidence } from '../../shared/wire/heartbeat.ts';

/**
 * Binding a member to an instance (pure). The pool key only keeps outsiders out; inside, a peer
 * id counts as a member only once the pool's provider vouches that it runs an instance with that
 * id — so a key holder cannot add members the provider never launched (fake load, fake
 * leadership claims) nor speak for an instance another member runs.
 *
 * What vouches depends on the provider of the member's cloud (a `BindingSource`):
 *  - local: the launcher's durable record (`<stateDir>/local/instances.json`) names the peer id
 *    of each instance it launched; the record must name this peer for this instance;
 *  - EC2: the instance identity document and its signature, as the member read them from IMDS;
 *    the signature must verify against the configured AWS certificate and the document must name
 *    the claimed instance. A document can be copied, so the first live claimant of an instance
 *    keeps it (`holder`).
 *  - ssh: a launcher certificate the CLI signed, naming the peer id, valid for a window.
 *  - EC2 without a certificate: the provider's listing, on the leader only (binding-ec2-listing.ts):
 *    the instance is the pool's and cloud's, pending or running, and the claimant answers at its
 *    private address.
 * Each claim is checked by the source of the claimed cloud's provider, whatever the checker runs
 * on (the pool's binding table tells every agent what each provider needs). A cloud without a
 * source is `unchecked`: first claim wins, as before binding.
 */

/** What a member's record claims: its peer id runs this instance of this cloud. */
export interface Claim {
  peerId: string;
  instanceId: string;
  cloud: string;
  /** EC2 only: the instance identity document and its base64 signature, as IMDS served them. */
  identity?: IdentityEvidence;
}

export type { IdentityEvidence };

export type UnboundReason =
  /** The provider has no record of the instance (yet: re-checked later). */
  | 'no-instance'
  /** The instance is recorded but its launch has not recorded a peer id yet (re-checked later). */
  | 'pending'
  /** The provider's record names another peer for this instance. */
  | 'other-peer'
  /** The instance is recorded as terminated. */
  | 'terminated'
  /** Another live member holds the instance (first claim wins; re-checked once it is gone). */
  | 'taken'
  /** The evidence is missing, does not verify, or names another instance. */
  | 'bad-evidence'
  /** The provider's listing has no such instance of the pool and cloud, pending or running. */
  | 'not-listed'
  /** The listed instance's private address is not where the claimant answers. */
  | 'listing-mismatch'
  /**
   * Its source is judging the claim (the leader's EC2 listing or dial is under way) and the claim
   * never took part here: it waits for the answer (re-checked then), not first claim wins.
   */
  | 'judging';

export type Verdict =
  /** `until`: the evidence stops holding then (epoch ms; an expiring certificate), and is checked again. */
  | { kind: 'bound'; by: string; until?: number }
  /**
   * `judging`: the source will have an answer soon (its revision moves then). The binding cache
   * holds such a claim as unbound `judging` unless it took part here before (binding-cache.ts).
   */
  | { kind: 'unchecked'; judging?: true }
  | { kind: 'unbound'; reason: UnboundReason; detail: string };

/** What one provider says about a claim, ignoring who else claims the instance. */
export interface BindingSource {
  /** Short name for logs ('local-record', 'ec2-identity'). */
  readonly name: string;
  check(claim: Claim): Verdict;
  /**
   * For a source that answers from work done elsewhere (a provider call): a number that moves
   * whenever its answers may have changed. An `unchecked` verdict from such a source is checked
   * again when it moves, not on a timer. Absent: `unchecked` is checked again every re-check period.
   */
  revision?(): number;
}

/**
 * The binding rule: the source of the claim's cloud decides (no source: unchecked), and a second
 * peer claiming an instance another live member holds is refused whatever the source says.
 * `holder` is the live member currently holding the instance, if any.
 */
export function bindingVerdict(claim: Claim, source: BindingSource | undefined, holder: string | undefined): Verdict {
  if (holder !== undefined && holder !== claim.peerId)
    return { kind: 'unbound', reason: 'taken', detail: `${claim.instanceId} is held by ${holder}` };
  return source ? source.check(claim) : { kind: 'unchecked' };
}

/** Whether a verdict lets a member take part (unchecked clouds keep the old, first-claim rule). */
export function takesPart(v: Verdict): boolean {
  return v.kind !== 'unbound';
}

const MAY_CHANGE = new Set<UnboundReason>(['no-instance', 'pending', 'taken', 'judging']);

/** Whether a negative verdict may change later (the launcher records the peer id after spawning it). */
export function mayChange(v: Verdict): boolean {
  return v.kind === 'unbound' && MAY_CHANGE.has(v.reason);
}

/** An instance as a launcher's durable record has it. */
export interface LaunchedInstance {
  id: string;
  state: string;
  /** Absent while the launch has not recorded it yet. */
  peerId?: string;
  /** The cloud it was launched into, when the record says. */
  cloud?: string;
}

/** The local (and any file-backed) launcher's record as a binding source. */
export function launcherRecordSource(instances: () => ReadonlyMap<string, LaunchedInstance>): BindingSource {
  return {
    name: 'launcher-record',
    check(claim) {
      const inst = instances().get(claim.instanceId);
      const about = `${claim.instanceId} (peer ${claim.peerId})`;
      if (!inst) return { kind: 'unbound', reason: 'no-instance', detail: `the launcher has no record of ${about}` };
      if (inst.state === 'terminated')
        return { kind: 'unbound', reason: 'terminated', detail: `${claim.instanceId} is terminated` };
      if (inst.peerId === undefined)
        return { kind: 'unbound', reason: 'pending', detail: `${claim.instanceId} has no recorded peer id yet` };
      if (inst.peerId !== claim.peerId)
        return { kind: 'unbound', reason: 'other-peer', detail: `${claim.instanceId} was launched as ${inst.peerId}` };
      if (inst.cloud !== undefined && inst.cloud !== claim.cloud)
        return { kind: 'unbound', reason: 'other-peer', detail: `${claim.instanceId} runs in cloud ${inst.cloud}` };
      return { kind: 'bound', by: 'launcher-record' };
    },
  };
}
