import * as z from 'zod';
import { findCredentialIn } from '../remoter/ec2-credentials.ts';
import { type Ec2SshDefinition, type Ec2SshOptions, ec2SshSchema } from './ec2-ssh-schema.ts';
import { P2P_DEFAULT_PORT } from './tunables.ts';

/**
 * The `using: ec2({...})` options of a cloud: their input type (what clouds.ts holds), the zod
 * schema that validates them and the normalised definition the EC2 remoter base reads. The
 * schema rejects AWS credentials anywhere in the options: nodes get AWS access from their
 * instance profile, and options end up in user data, tags and every agent's config.
 */

export type EbsVolumeType = 'gp2' | 'gp3' | 'io1' | 'io2' | 'st1' | 'sc1' | 'standard';

export interface BlockDeviceInput {
  /** e.g. '/dev/xvda' (the root device of most Linux AMIs) or '/dev/sdf'. */
  deviceName: string;
  /** Volume size in GiB. */
  sizeGiB: number;
  /** Default 'gp3'. */
  volumeType?: EbsVolumeType;
  iops?: number;
  /** MiB/s, gp3 only. */
  throughput?: number;
  /** Default true. */
  encrypted?: boolean;
  /** Default true: a pool's instances are cattle, their volumes go with them. */
  deleteOnTermination?: boolean;
}

/** Options of the ec2 provider, as written in clouds.ts. */
export interface Ec2Options {
  /** AWS region. Default: AWS_REGION / AWS_DEFAULT_REGION / the profile's region. */
  region?: string;
  /** EC2 API endpoint for EC2-compatible clouds and tests. Default: AWS_ENDPOINT_URL_EC2, else AWS's. */
  endpoint?: string;
  /** An AMI id ('ami-…') or an SSM parameter ('resolve:ssm:/aws/service/…'). */
  imageId: string;
  /** e.g. 't3.small'. */
  instanceType: string;
  /** EC2 key pair for operator SSH access; PoolParty itself never needs it. */
  keyName?: string;
  securityGroupIds?: string[];
  /** Launches go to the first subnet; on InsufficientInstanceCapacity to the next one, in order. */
  subnetIds?: string[];
  /** Instance profile name or ARN: the nodes' only AWS access (a leader launches and terminates with it). */
  iamInstanceProfile?: string;
  /** Extra shell run as root by the node bootstrap before the agent starts (e.g. install Node.js). */
  userData?: string;
  /** Extra tags on instances and volumes ('aws:' and 'poolparty:' keys are reserved). */
  tags?: Record<string, string>;
  /** Spot instances; `maxPrice` in USD per hour (default: the on-demand price). */
  spot?: true | { maxPrice?: string };
  blockDevices?: BlockDeviceInput[];
  /**
   * Where a node downloads the single-file agent (https:// or s3:// through the instance profile).
   * Default: none — the image already has /opt/poolparty/poolparty-agent.mjs.
   */
  agentUrl?: string;
  /** SHA-256 (hex) the downloaded agent must have. Recommended with agentUrl. */
  agentSha256?: string;
  /** libp2p TCP port of every node. Default 8643. */
  p2pPort?: number;
  /**
   * PEM of the AWS RSA certificate for the region's instance identity signatures (AWS docs:
   * "AWS public certificates for instance identity document signatures", RSA, for the base64
   * signature). With it, a member counts only if its signed identity document names its instance
   * (agent/membership/binding-ec2.ts). Default: none — members of this cloud are unchecked.
   */
  identityCertificate?: string;
  /**
   * Provision launched instances over SSH from the laptop (see ec2-ssh-schema.ts): `bootstrap`
   * waits for SSH and installs the agent like on ssh hosts, so the image needs neither the agent
   * nor `agentUrl`. Default: none (user data only).
   */
  ssh?: Ec2SshOptions;
}

export interface Ec2Using extends Ec2Options {
  provider: 'ec2';
}

export interface BlockDevice {
  deviceName: string;
  sizeGiB: number;
  volumeType: EbsVolumeType;
  iops?: number;
  throughput?: number;
  encrypted: boolean;
  deleteOnTermination: boolean;
}

/** The normalised options (defaults applied); plain JSON, it travels in every agent's config. */
export interface Ec2UsingDefinition {
  provider: 'ec2';
  region?: string;
  endpoint?: string;
  imageId: string;
  instanceType: string;
  keyName?: string;
  securityGroupIds: string[];
  subnetIds: string[];
  iamInstanceProfile?: { name: string } | { arn: string };
  userData?: string;
  tags: Record<string, string>;
  spot?: { maxPrice?: string };
  blockDevices: BlockDevice[];
  agentUrl?: string;
  agentSha256?: string;
  p2pPort: number;
  identityCertificate?: string;
  ssh?: Ec2SshDefinition;
}

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
  deviceName: z.string().regex(/^\/dev\/[a-z0-9]+$/, { error: "expected a device name like '/dev/xvda'" }),
  sizeGiB: z.number().int().min(1).max(65_536),
  volumeType: z.enum(['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard']).optional(),
  iops: z.number().int().min(100).optional(),
  throughput: z.number().int().min(125).optional(),
  encrypted: z.boolean().optional(),
  deleteOnTermination: z.boolean().optional(),
});

export const ec2UsingSchema = z
  .strictObject({
    provider: z.literal('ec2'),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, {
        error: (iss) => `expected a region like 'eu-west-1', got ${JSON.stringify(iss.input)}`,
      })
      .optional(),
    endpoint: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    imageId: z.string().regex(/^(ami-[0-9a-f]{8}([0-9a-f]{9})?|resolve:ssm:\/\S+)$/, {
      error: (iss) => `expected an AMI id 'ami-…' or 'resolve:ssm:/…', got ${JSON.stringify(iss.input)}`,
    }),
    instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/, {
      error: (iss) => `expected an instance type like 't3.small', got ${JSON.stringify(iss.input)}`,
    }),
    keyName: z.string().min(1).max(255).optional(),
    securityGroupIds: idList(/^sg-[0-9a-f]{8,17}$/, "a security group id 'sg-…'").optional(),
    subnetIds: idList(/^subnet-[0-9a-f]{8,17}$/, "a subnet id 'subnet-…'").optional(),
    iamInstanceProfile: z
      .string()
      .regex(/^([\w+=,.@-]{1,128}|arn:aws[a-z-]*:iam::\d{12}:instance-profile\/[\w+=,.@/-]{1,128})$/, {
        error: 'expected an instance profile name or ARN',
      })
      .optional(),
    userData: z
      .string()
      .refine((s) => Buffer.byteLength(s) <= USER_DATA_LIMIT / 2, {
        error: `must be at most ${USER_DATA_LIMIT / 2} bytes (EC2 allows 16 KB of user data in all)`,
      })
      .refine((s) => !s.split('\n').includes(USER_INIT_DELIMITER), {
        error: `must not contain a line '${USER_INIT_DELIMITER}'`,
      })
      .optional(),
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
      .optional(),
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
    blockDevices: z.array(blockDeviceSchema).optional(),
    agentUrl: z
      .url({ protocol: /^(https|s3)$/, error: 'expected an https:// or s3:// URL' })
      .refine((u) => !/[\s'"`$\\]/.test(u), { error: 'must not contain quotes, spaces, $ or backslashes' })
      .optional(),
    agentSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/i, { error: 'expected 64 hex characters' })
      .optional(),
    p2pPort: z.number().int().min(1).max(65535).optional(),
    identityCertificate: z
      .string()
      .max(4096)
      .regex(/-----BEGIN (CERTIFICATE|PUBLIC KEY)-----/, { error: 'expected a PEM certificate' })
      .optional(),
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
  .transform((u): Ec2UsingDefinition => {
    const def: Ec2UsingDefinition = {
      provider: 'ec2',
      imageId: u.imageId,
      instanceType: u.instanceType,
      securityGroupIds: u.securityGroupIds ?? [],
      subnetIds: u.subnetIds ?? [],
      tags: u.tags ?? {},
      blockDevices: (u.blockDevices ?? []).map((b) => ({
        ...b,
        volumeType: b.volumeType ?? 'gp3',
        encrypted: b.encrypted ?? true,
        deleteOnTermination: b.deleteOnTermination ?? true,
      })),
      p2pPort: u.p2pPort ?? P2P_DEFAULT_PORT,
    };
    if (u.region !== undefined) def.region = u.region;
    if (u.endpoint !== undefined) def.endpoint = u.endpoint;
    if (u.keyName !== undefined) def.keyName = u.keyName;
    if (u.iamInstanceProfile !== undefined) {
      def.iamInstanceProfile = u.iamInstanceProfile.startsWith('arn:')
        ? { arn: u.iamInstanceProfile }
        : { name: u.iamInstanceProfile };
    }
    if (u.userData !== undefined) def.userData = u.userData;
    if (u.spot !== undefined) def.spot = u.spot === true ? {} : { ...u.spot };
    if (u.agentUrl !== undefined) def.agentUrl = u.agentUrl;
    if (u.agentSha256 !== undefined) def.agentSha256 = u.agentSha256.toLowerCase();
    if (u.identityCertificate !== undefined) def.identityCertificate = u.identityCertificate;
    if (u.ssh !== undefined) def.ssh = u.ssh;
    return def;
  });

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
