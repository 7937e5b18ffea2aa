/**
 * The upgrade protocols between the CLI, the leader and the members (libp2p streams, framed like
 * bundle transfer: a JSON header line, then raw bytes where there are any;
 * shared/wire/bundle-transfer.ts).
 *
 * - `/poolparty/upgrade-push/1` (CLI → leader): header `{signed, size, gateMs?}` + the artifact, or
 *   `{rollback: SignedRollback}`. Answer `{ok, sha256, version}` or `{ok:false, error, code?}`.
 * - `/poolparty/artifact/1` (member → any peer): content by hash, the bundle pull framing.
 * - `/poolparty/upgrade/1` (leader → member): one request line, one answer line (UpgradeRequest).
 *
 * Whoever sends them, members verify every manifest with their own configured public key: the
 * leader is trusted with the order of a rollout, never with what runs.
 */
export const UPGRADE_PUSH_PROTOCOL = '/poolparty/upgrade-push/1';
export const ARTIFACT_PROTOCOL = '/poolparty/artifact/1';
export const UPGRADE_PROTOCOL = '/poolparty/upgrade/1';

/** The requests a leader sends a member. */
export type UpgradeRequest =
  /**
   * Fetch the artifact from `holders` (peer ids, best first), verify it and keep it beside the
   * current one, with the rollout it belongs to: whichever member leads next continues from it.
   */
  | { type: 'stage'; signed: unknown; holders: string[]; rollout?: RolloutPlan }
  /** Restart into the staged artifact `sha256` (its own signed manifest is checked again). */
  /** gateMs: the rollout's health gate (a push's --gate); older leaders send none. */
  | { type: 'activate'; sha256: string; gateMs?: number }
  /** Return to the artifact run before the current one (`poolparty upgrade --rollback`). */
  | { type: 'rollback'; request: unknown }
  /** What this member runs and holds, and how its last upgrade ended. */
  | { type: 'status' }
  /**
   * Rollout `sha256` was announced complete: noted in this member's plan, so that should it lead
   * next it does not announce it again (agent/upgrade/announce.ts).
   */
  | { type: 'announced'; sha256: string };

/**
 * What a rollout was told to do (the push's choices), kept by every member that staged its
 * artifact (`<dataDir>/upgrade/rollout.json`): a member that becomes leader mid-rollout
 * continues it from this and from what the members report.
 */
export interface RolloutPlan {
  sha256: string;
  version: string;
  startedAt: number;
  gateMs: number;
  maxUnavailable: number;
  /** When a leader announced it complete (`upgrade-complete`), as this member was told. */
  announcedAt?: number;
}

/** The longest health gate a member accepts (ms): a day; beyond it a hung agent waits unwatched. */
export const MAX_GATE_MS = 86_400_000;

/** The plan a stage request carries, or undefined when it is absent or malformed. */
export function parseRolloutPlan(v: unknown): RolloutPlan | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const p = v as Record<string, unknown>;
  const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) > 0;
  if (typeof p.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(p.sha256)) return undefined;
  if (typeof p.version !== 'string' || p.version.length > 200) return undefined;
  if (!count(p.startedAt) || !count(p.gateMs) || !count(p.maxUnavailable)) return undefined;
  return {
    sha256: p.sha256,
    version: p.version,
    startedAt: p.startedAt as number,
    gateMs: p.gateMs as number,
    maxUnavailable: p.maxUnavailable as number,
    ...(count(p.announcedAt) ? { announcedAt: p.announcedAt as number } : {}),
  };
}

/** What a member says of itself (the `status` answer; also its own GET /upgrade). */
export interface MemberUpgradeStatus {
  /** The version it runs: its artifact's signed manifest, else the built-in one. */
  version: string;
  /** sha256 of the artifact it runs, when it runs one it was upgraded to. */
  sha256: string | null;
  /** Artifacts held (sha256), verified. */
  held: string[];
  ready: boolean;
  /** The outcome of the last restart into a new artifact, as the supervisor judged it. */
  last: UpgradeOutcome | null;
  /**
   * The artifact (sha256) whose health gate is still open: restarted into it, and its supervisor
   * has not recorded the outcome yet. Null when none; absent from agents older than the field.
   */
  trial?: string | null;
}

export interface UpgradeOutcome {
  sha256: string;
  ok: boolean;
  /** Why it was rolled back. */
  reason?: string;
  at: number;
}

/** `poolparty upgrade --rollback`: signed like a manifest, so only the upgrade key holder asks it. */
export interface RollbackRequest {
  pool: string;
  issuedAt: number;
}

/** The document signed for a rollback request (a fixed prefix: no manifest signature counts here). */
export function rollbackDocument(r: RollbackRequest): string {
  return ['poolparty-upgrade-rollback/1', `pool=${r.pool}`, `issuedAt=${r.issuedAt}`].join('\n');
}

/** Parses one request line from a peer; a one-line reason when it is not a request. */
export function parseUpgradeRequest(value: unknown): UpgradeRequest | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected an object';
  const v = value as Record<string, unknown>;
  switch (v.type) {
    case 'stage': {
      const holders = v.holders;
      if (
        !Array.isArray(holders) ||
        holders.length > 64 ||
        !holders.every((h) => typeof h === 'string' && h.length < 128)
      )
        return 'holders: expected up to 64 peer ids';
      const rollout = parseRolloutPlan(v.rollout);
      return { type: 'stage', signed: v.signed, holders: holders as string[], ...(rollout ? { rollout } : {}) };
    }
    case 'activate':
    case 'announced': {
      if (typeof v.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(v.sha256)) return 'sha256: expected a hex digest';
      if (v.type === 'announced' || v.gateMs === undefined) return { type: v.type, sha256: v.sha256 };
      return Number.isSafeInteger(v.gateMs) && (v.gateMs as number) > 0 && (v.gateMs as number) <= MAX_GATE_MS
        ? { type: 'activate', sha256: v.sha256, gateMs: v.gateMs as number }
        : `gateMs: expected whole milliseconds from 1 to ${MAX_GATE_MS}`;
    }
    case 'rollback':
      return { type: 'rollback', request: v.request };
    case 'status':
      return { type: 'status' };
    default:
      return `type: unknown ${JSON.stringify(v.type)?.slice(0, 40)}`;
  }
}
