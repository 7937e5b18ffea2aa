import * as z from 'zod';
import { findCredentialIn } from '../remoter/ec2-credentials.ts';
import { ec2SshSchema } from './ec2-ssh-schema.ts';
import { P2P_DEFAULT_PORT } from './tunables.ts';

/**
 * The `using: ec2({...})` options of a cloud: the zod schema, each field with its meaning and
 * default, whose input type is what clouds.ts holds (Ec2Options) and whose output is the
 * normalised definition the EC2 remoter base reads (Ec2UsingDefinition). The
 * schema rejects AWS credentials anywhere in the options: nodes get AWS access from their
 * instance profile, and options end up in user data, tags and every agent's config.
 */

/** EC2 allows 50 tags per resource; the provider sets up to 6 (pool, cloud, token, term, action, Name). */
export const MAX_USER_TAGS = 44;
/** EC2's limit on user data, before base64. */
export const USER_DATA_LIMIT = 16 * 1024;
/** A line equal to this would end the heredoc that carries `userData` in the node bootstrap. */
export const USER_INIT_DELIMITER = 'POOLPARTY_USER_INIT_EOF';

const RESERVED_TAG = /^(aws:|poolparty:)/i;
const idList = (re: RegExp, what: string) =>
  z
    .array(z.string().regex(re, { error: (iss) => `expected ${what}, got ${JSON.stringify(iss.input)}` }))
    .min(1)
    .refine((ids) => new Set(ids).size === ids.length, { error: 'duplicate ids' });

const blockDeviceSchema = z.strictObject({
  /** e.g. '/dev/xvda' (the root device of most Linux AMIs) or '/dev/sdf'. */
  deviceName: z.string().regex(/^\/dev\/[a-z0-9]+$/, { error: "expected a device name like '/dev/xvda'" }),
  /** Volume size in GiB. */
  sizeGiB: z.number().int().min(1).max(65_536),
  /** Default 'gp3'. */
  volumeType: z.enum(['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard']).default('gp3'),
  iops: z.number().int().min(100).optional(),
  /** MiB/s, gp3 only. */
  throughput: z.number().int().min(125).optional(),
  /** Default true. */
  encrypted: z.boolean().default(true),
  /** Default true: a pool's instances are cattle, their volumes go with them. */
  deleteOnTermination: z.boolean().default(true),
});

export const ec2UsingSchema = z
  .strictObject({
    provider: z.literal('ec2'),
    /** AWS region. Default: AWS_REGION / AWS_DEFAULT_REGION / the profile's region. */
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, {
        error: (iss) => `expected a region like 'eu-west-1', got ${JSON.stringify(iss.input)}`,
      })
      .optional(),
    /** EC2 API endpoint for EC2-compatible clouds and tests. Default: AWS_ENDPOINT_URL_EC2, else AWS's. */
    endpoint: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    /** An AMI id ('ami-…') or an SSM parameter ('resolve:ssm:/aws/service/…'). */
    imageId: z.string().regex(/^(ami-[0-9a-f]{8}([0-9a-f]{9})?|resolve:ssm:\/\S+)$/, {
      error: (iss) => `expected an AMI id 'ami-…' or 'resolve:ssm:/…', got ${JSON.stringify(iss.input)}`,
    }),
    /** e.g. 't3.small'. */
    instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/, {
      error: (iss) => `expected an instance type like 't3.small', got ${JSON.stringify(iss.input)}`,
    }),
    /** EC2 key pair for operator SSH access; PoolParty itself never needs it. */
    keyName: z.string().min(1).max(255).optional(),
    /** Default: none (the VPC's default security group). */
    securityGroupIds: idList(/^sg-[0-9a-f]{8,17}$/, "a security group id 'sg-…'").default(() => []),
    /** Launches go to the first subnet; on InsufficientInstanceCapacity to the next one, in order. Default: none. */
    subnetIds: idList(/^subnet-[0-9a-f]{8,17}$/, "a subnet id 'subnet-…'").default(() => []),
    /**
     * Instance profile name or ARN: the nodes' only AWS access (a leader launches and terminates
     * with it). Normalised to `{ name }` or `{ arn }`.
     */
    iamInstanceProfile: z
      .string()
      .regex(/^([\w+=,.@-]{1,128}|arn:aws[a-z-]*:iam::\d{12}:instance-profile\/[\w+=,.@/-]{1,128})$/, {
        error: 'expected an instance profile name or ARN',
      })
      .optional(),
    /** Extra shell run as root by the node bootstrap before the agent starts (e.g. install Node.js). */
    userData: z
      .string()
      .refine((s) => Buffer.byteLength(s) <= USER_DATA_LIMIT / 2, {
        error: `must be at most ${USER_DATA_LIMIT / 2} bytes (EC2 allows 16 KB of user data in all)`,
      })
      .refine((s) => !s.split('\n').includes(USER_INIT_DELIMITER), {
        error: `must not contain a line '${USER_INIT_DELIMITER}'`,
      })
      .optional(),
    /** Extra tags on instances and volumes ('aws:' and 'poolparty:' keys are reserved). Default: none. */
    tags: z
      .record(z.string().min(1).max(128), z.string().max(256))
      .superRefine((tags, ctx) => {
        for (const key of Object.keys(tags)) {
          if (RESERVED_TAG.test(key)) {
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message: "tag keys starting with 'aws:' or 'poolparty:' are reserved",
            });
          }
        }
        if (Object.keys(tags).length > MAX_USER_TAGS)
          ctx.addIssue({ code: 'custom', message: `at most ${MAX_USER_TAGS} tags` });
      })
      .default(() => ({})),
    /** Spot instances; `maxPrice` in USD per hour (default: the on-demand price). Normalised to `{ maxPrice? }`. */
    spot: z
      .union([
        z.literal(true),
        z.strictObject({
          maxPrice: z
            .string()
            .regex(/^\d+(\.\d+)?$/, { error: "expected a price in USD per hour like '0.05'" })
            .optional(),
        }),
      ])
      .optional(),
    /** Default: none (the AMI's own). */
    blockDevices: z.array(blockDeviceSchema).default(() => []),
    /**
     * Where a node downloads the single-file agent (https:// or s3:// through the instance profile).
     * Default: none — the image already has /opt/poolparty/poolparty-agent.mjs.
     */
    agentUrl: z
      .url({ protocol: /^(https|s3)$/, error: 'expected an https:// or s3:// URL' })
      .refine((u) => !/[\s'"`$\\]/.test(u), { error: 'must not contain quotes, spaces, $ or backslashes' })
      .optional(),
    /** SHA-256 (hex) the downloaded agent must have. Recommended with agentUrl. */
    agentSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/i, { error: 'expected 64 hex characters' })
      .optional(),
    /** libp2p TCP port of every node. Default 8643. */
    p2pPort: z.number().int().min(1).max(65535).default(P2P_DEFAULT_PORT),
    /**
     * PEM of the AWS RSA certificate for the region's instance identity signatures (AWS docs:
     * "AWS public certificates for instance identity document signatures", RSA, for the base64
     * signature). With it, a member counts only if its signed identity document names its instance
     * (agent/membership/binding-ec2.ts). Default: none — members of this cloud are unchecked.
     */
    identityCertificate: z
      .string()
      .max(4096)
      .regex(/-----BEGIN (CERTIFICATE|PUBLIC KEY)-----/, { error: 'expected a PEM certificate' })
      .optional(),
    /**
     * The AWS account the pool's instances run in (12 digits). With `identityCertificate`, a
     * member's identity document must name this account: AWS signs every account's documents with
     * the same regional key, so without it an instance of any account can vouch for itself.
     * Default: none — any account.
     */
    accountId: z
      .string()
      .regex(/^\d{12}$/, { error: 'expected a 12-digit AWS account id' })
      .optional(),
    /**
     * Provision launched instances over SSH from the laptop (see ec2-ssh-schema.ts): `bootstrap`
     * waits for SSH and installs the agent like on ssh hosts, so the image needs neither the agent
     * nor `agentUrl`. Default: none (user data only).
     */
    ssh: ec2SshSchema.optional(),
  })
  .superRefine((u, ctx) => {
    // Every string, keys included: a credential in a tag key or a device name is as bad as in userData.
    const hit = findCredentialIn(u);
    if (hit) {
      ctx.addIssue({
        code: 'custom',
        path: hit.path.split('.'),
        message: `must not contain AWS credentials (found ${hit.what}); nodes use their instance profile`,
      });
    }
    if (u.agentSha256 !== undefined && u.agentUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['agentSha256'], message: 'agentSha256 needs agentUrl' });
    }
  })
  .transform(({ iamInstanceProfile, spot, agentSha256, ...rest }) => ({
    ...rest,
    ...(iamInstanceProfile !== undefined && {
      iamInstanceProfile: (iamInstanceProfile.startsWith('arn:')
        ? { arn: iamInstanceProfile }
        : { name: iamInstanceProfile }) as { name: string } | { arn: string },
    }),
    ...(spot !== undefined && { spot: spot === true ? {} : { ...spot } }),
    ...(agentSha256 !== undefined && { agentSha256: agentSha256.toLowerCase() }),
  }));

/** Options of the ec2 provider, as written in clouds.ts. */
export type Ec2Options = Omit<z.input<typeof ec2UsingSchema>, 'provider'>;
export type Ec2Using = Ec2Options & { provider: 'ec2' };
export type BlockDeviceInput = z.input<typeof blockDeviceSchema>;
/** The normalised options (defaults applied); plain JSON, it travels in every agent's config. */
export type Ec2UsingDefinition = z.output<typeof ec2UsingSchema>;

/** Validates ec2 options alone (outside a whole pool file); the message names the first bad field. */
export function parseEc2Using(value: unknown): Ec2UsingDefinition {
  const r = ec2UsingSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new Ec2OptionsError(`using.${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
}

export class Ec2OptionsError extends Error {
  override name = 'Ec2OptionsError';
}
