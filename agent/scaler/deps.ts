import type { RemoterBase } from '../../shared/remoter/types.ts';
import type { ScalingConfig } from '../../shared/scaling/config.ts';
import type { LeaderWindows } from '../../shared/scaling/windows.ts';
import type { MemberView, ScalingDecision } from '../../shared/wire/cluster.ts';
import type { Intent, Outcome, Retire } from '../../shared/wire/heartbeat.ts';
import type { ActionLedger } from './ledger.ts';

export type DecisionRecord = ScalingDecision;

export type ControlDraft =
  | Omit<Intent, 'seq' | 'peerId'>
  | Omit<Outcome, 'seq' | 'peerId'>
  | Omit<Retire, 'seq' | 'peerId'>;

export interface ScalerDeps {
  pool: string;
  cloud: string;
  min: number;
  max: number;
  config: ScalingConfig;
  /** The membership's deadAfter (ms): a dead member's instance goes after deadAfter + deadGrace of silence. */
  deadAfter: number;
  /**
   * A dead member whose instance the provider still reports running (a partition, a hung agent)
   * is replaced only after this long (ms): gossip silence alone must not cost a healthy machine.
   */
  replaceAfter: number;
  /**
   * How long this node has held its quorum lease without a break (ms). Unreachability seen while
   * it had no quorum (the minority side of a partition) is no evidence: a leader replaces a
   * running instance only after holding its lease for replaceAfter too, so a minority leader that
   * takes over at the heal does not act on the stale view it had during the split.
   */
  leaseHeldFor?: () => number;
  /**
   * The rule windows of the last summary from the leader this node followed (LoadExchange's
   * leaderWindows): when it begins to act, its timers start from them (shared/scaling/windows.ts).
   */
  inherited?: () => LeaderWindows | null;
  /**
   * How much older than the leader's this node's view of others' metrics is (LoadExchange's
   * viewLag, ms; 0 when leading): metric ages are judged as of the leader's last summary.
   */
  viewLag?: () => number;
  /** Created on first use (only a leader needs the provider). */
  remoter: () => RemoterBase;
  ledger: ActionLedger;
  now: () => number;
  /** The term this node leads right now, or null. Checked again before every provider call. */
  leads: () => number | null;
  selfPeerId: () => string;
  selfInstanceId: () => string;
  /** Every member of the pool including self. */
  members: () => MemberView[];
  publish: (msg: ControlDraft) => Promise<void>;
  /** The leader is the only possible victim: it hands leadership over and retires itself. */
  retireSelf: (reason: string, term: number) => void;
  onDecision: (d: DecisionRecord) => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
}
