import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';

interface WindowFields {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
}

let installed = false;

/**
 * js-yamux answers every data frame it receives with a window-update frame, so each probe, ack
 * and load report cost a second TCP segment (12 bytes of yamux in a noise frame: ~82 bytes on
 * the wire) — about a third of an idle agent's packets. go-yamux, and the yamux spec's advice,
 * send an update only once half the receive window has been used. This does the same on every
 * yamux stream of the process: a stream that is opening (SYN/ACK ride on the update), paused or
 * past half its window still goes through yamux's own logic. Idempotent; the window stays 256 kB,
 * so a bulk transfer (bundles) still sees an update every 128 kB.
 */
export function lazyWindowUpdates(): void {
  if (installed) return;
  installed = true;
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate(this: WindowFields): void };
  const original = proto.sendWindowUpdate;
  proto.sendWindowUpdate = function (this: WindowFields) {
    if (needsUpdate(this)) original.call(this);
  };
}

/** Whether yamux must be told about this stream's window now (pure; exported for the test). */
export function needsUpdate(s: WindowFields): boolean {
  return s.state !== StreamState.Established || s.recvWindowCapacity <= s.recvWindow / 2;
}
