import * as z from 'zod';
import { P2P_DEFAULT_PORT } from './tunables.ts';

/** `using: local()`: every instance is an agent process on this machine, one loopback address each. */

const LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

const port = z.number().int().min(1).max(65535);

const loopbackAddress = z.string().refine(
  (s) => {
    const m = LOOPBACK.exec(s);
    if (!m) return false;
    const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return a <= 255 && b <= 255 && c >= 1 && c <= 254;
  },
  { error: (iss) => `expected a loopback address 127.a.b.c (c in 1..254), got ${JSON.stringify(iss.input)}` },
);

export const localUsingSchema = z.strictObject({
  provider: z.literal('local'),
  /**
   * First loopback address handed to an instance; each instance gets its own address scanning
   * upward from here, so each has its own monitor on the same port like a real machine.
   * Default '127.0.0.2'.
   */
  firstAddress: loopbackAddress.default('127.0.0.2'),
  /** libp2p TCP port of every instance. Default 8643. */
  p2pPort: port.default(P2P_DEFAULT_PORT),
  /** Monitor port of every instance. Default: the cloud's `monitor.port`, else 8642. */
  monitorPort: port.optional(),
});

/** Default first loopback address of a local cloud: the schema's own. */
export const LOCAL_FIRST_ADDRESS: string = localUsingSchema.parse({ provider: 'local' }).firstAddress;

/** Options of the local provider as written in clouds.ts. */
export type LocalOptions = Omit<z.input<typeof localUsingSchema>, 'provider'>;
export type LocalUsing = LocalOptions & { provider: 'local' };

/** The normalised options: the monitor port follows the cloud's unless given. */
export type LocalUsingDefinition = Omit<z.output<typeof localUsingSchema>, 'monitorPort'> & { monitorPort: number };

export function normalizeLocalUsing(u: z.output<typeof localUsingSchema>, monitorPort: number): LocalUsingDefinition {
  return { ...u, monitorPort: u.monitorPort ?? monitorPort };
}
