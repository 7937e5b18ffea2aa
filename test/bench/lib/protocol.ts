import type { AgentConfig } from '../../../shared/wire/agent-config.ts';

/**
 * The IPC protocol between the bench harness and a host process running many in-process agents.
 * The host is deliberately dumb: it starts and crashes agents, records their raw (uncoalesced)
 * events with the agent's own timestamps, and answers queries; the harness derives every figure.
 */

/** A membership or leadership event as the agent's core emitted it, before the EventHub coalesces it. */
export interface RawEvent {
  /** Index of the observing agent in its host. */
  agent: number;
  type: string;
  /** The member (or leader) the event is about. */
  peerId: string;
  /** Epoch ms, from the agent's clock. */
  at: number;
  term?: number;
}

/** A launch recorded by the fake remoter base of one agent. */
export interface LaunchRecord {
  agent: number;
  peerId: string;
  at: number;
  count: number;
  token: string;
}

export interface StartedAgent {
  peerId: string;
  multiaddrs: string[];
  /** ms from the start command to agent.start() resolving. */
  startMs: number;
}

export interface FakeRemoterSpec {
  /** Instance ids list() reports as running (the provider's truth); ids of pool members so none is an orphan. */
  instances: string[];
}

export type HostRequest =
  | { op: 'start'; configs: AgentConfig[]; fake?: FakeRemoterSpec }
  | { op: 'events'; from: number }
  | { op: 'crash'; peerIds: string[] }
  | { op: 'launches' }
  | { op: 'scaling'; peerId: string }
  | { op: 'connections' }
  | { op: 'lag' }
  | { op: 'swim' };

export type HostMessage = { id: number; req: HostRequest };
export type HostReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
