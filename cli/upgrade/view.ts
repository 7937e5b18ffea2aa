/** The leader's rollout as GET /upgrade shows it (agent/upgrade/rollout.ts, read by the CLI). */
export interface UpgradeRolloutView {
  sha256: string;
  version: string;
  startedAt: number;
  gateMs: number;
  maxUnavailable: number;
  members: Array<{ peerId: string; instanceId: string; phase: string; error?: string }>;
  halted?: { peerId: string; instanceId: string; reason: string; at: number };
  completedAt?: number;
  leading: boolean;
}

/** The leader's `--rollback` run as GET /upgrade shows it (agent/upgrade/rollback-leader.ts). */
export interface UpgradeRollbackView {
  id: string;
  queue: string[];
  current: { peerId: string } | null;
  done: string[];
  halted?: { peerId: string; reason: string; at: number };
  completedAt?: number;
  leading: boolean;
}
