import type { AgentConfig } from '../../shared/wire/agent-config.ts';
import type { EventHub } from '../events.ts';
import type { Leadership } from '../leadership.ts';
import type { PoolNode } from '../p2p/node.ts';
import type { AgentLog } from '../types.ts';
import type { Telemetry } from './telemetry.ts';

/** What most groups of components are built from; each factory picks the fields it uses. */
export interface Wiring {
  config: AgentConfig;
  peerId: string;
  /** When this agent started (epoch ms). */
  startedAt: number;
  now: () => number;
  log: AgentLog;
  events: EventHub;
  node: PoolNode;
  leadership: Leadership;
  telemetry: Telemetry;
}
