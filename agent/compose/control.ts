import { type ControlMessage, controlTopic } from '../../shared/wire/heartbeat.ts';
import { ControlRouter } from '../control.ts';
import { GossipChannel } from '../gossip.ts';
import type { LoadExchange } from '../load/exchange.ts';
import type { ActionLedger } from '../scaler/ledger.ts';
import type { ControlDraft } from '../scaler/scaler.ts';
import { CONTROL_LEVELS, leveled } from './log-levels.ts';
import type { Wiring } from './wiring.ts';

export type ControlPublish = (draft: ControlDraft | Omit<ControlMessage, 'v' | 'peerId' | 'seq'>) => Promise<void>;

/** The first seq of this agent's control messages is its start time: a restart never reuses one. */
export interface ControlInput
  extends Pick<Wiring, 'config' | 'peerId' | 'startedAt' | 'now' | 'log' | 'node' | 'telemetry' | 'leadership'> {
  ledger: ActionLedger;
  load: LoadExchange;
  retire: (reason: string, term: number) => void;
  /** Nothing is published before the agent runs or after it stops. */
  running: () => boolean;
}

/**
 * The control topic (intents, outcomes, retire requests, summaries, stopping): the channel, the
 * router that decides who may send what, and this agent's publisher on it.
 */
export function buildControl(i: ControlInput): {
  router: ControlRouter;
  channel: GossipChannel;
  publish: ControlPublish;
} {
  const { config: c, peerId, log } = i;
  let seq = i.startedAt;
  const router = new ControlRouter({
    self: () => peerId,
    now: i.now,
    leadership: i.leadership,
    ledger: i.ledger,
    load: i.load,
    retire: i.retire,
    log: leveled(log, CONTROL_LEVELS),
  });
  const channel = new GossipChannel({
    pubsub: i.node.services.pubsub,
    topic: controlTopic(c.pool),
    types: new Set(['intent', 'outcome', 'retire', 'summary', 'stopping']),
    maxMessageBytes: c.tunables.maxMessageBytes,
    isFresh: () => true,
    onMessage: (msg) => {
      router.receive(msg as ControlMessage);
      return undefined;
    },
    onReject: i.telemetry.onReject,
    onBytes: i.telemetry.onBytes,
  });
  const publish: ControlPublish = async (draft) => {
    if (!i.running()) return;
    const msg = { ...draft, v: 2, peerId, seq: ++seq } as ControlMessage;
    await channel.publish(msg).catch((err: Error) => log.warn('control-publish-failed', { error: err.message }));
  };
  return { router, channel, publish };
}
