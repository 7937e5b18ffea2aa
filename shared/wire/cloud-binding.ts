import * as z from 'zod';

/**
 * How the members of each cloud of a pool prove their instance, as every agent of the pool
 * carries it (agent config `binding`, and the carried pool definition's `binding` that a leader
 * passes on to the agents it launches). A claim is checked by the source of the *claimed* cloud's
 * provider, whatever the checking agent runs on, so an agent of one provider must hold what the
 * others need:
 *  - local: the absolute path of the local launcher's record (`<stateDir>/local/instances.json`),
 *    readable by agents on the launcher's host;
 *  - ssh: the launcher's public key (ed25519, SPKI PEM), which checks the certificates the CLI signs;
 *  - ec2: the AWS certificate for identity documents, and the region and account they must name.
 * A field left out means that cloud's members are unchecked by agents lacking it (first claim wins).
 */

const pem = (marker: RegExp, what: string) =>
  z
    .string()
    .max(8192)
    .regex(marker, { error: `expected ${what}` });

export const cloudBindingSchema = z.discriminatedUnion('provider', [
  z.strictObject({
    provider: z.literal('local'),
    /** Absolute path of the local launcher's instances.json. */
    records: z.string().startsWith('/', { error: 'expected an absolute path' }).optional(),
  }),
  z.strictObject({
    provider: z.literal('ssh'),
    /** The pool's launcher public key, SPKI PEM (ed25519). */
    publicKey: pem(/-----BEGIN PUBLIC KEY-----/, 'a PEM public key').optional(),
  }),
  z.strictObject({
    provider: z.literal('ec2'),
    /** PEM of the AWS certificate (or bare public key) that signs identity documents. */
    identityCertificate: pem(/-----BEGIN [A-Z ]+-----/, 'a PEM certificate').optional(),
    region: z.string().min(1).optional(),
    accountId: z.string().min(1).optional(),
  }),
]);

export const poolBindingSchema = z.record(z.string().min(1), cloudBindingSchema);

export type CloudBinding = z.infer<typeof cloudBindingSchema>;
/** Cloud name → how its members are checked. */
export type PoolBinding = z.infer<typeof poolBindingSchema>;
