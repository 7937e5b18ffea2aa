import type { Instance, RunInstancesCommandInput, Tag } from '@aws-sdk/client-ec2';
import type { Ec2UsingDefinition } from '../config/ec2-schema.ts';
import { findCredential } from './ec2-credentials.ts';
import type { InstanceRecord, InstanceState } from './types.ts';
import { RemoterError, TAG_CLOUD, TAG_POOL, TAG_TOKEN } from './types.ts';

/**
 * The pure half of the EC2 remoter: what a launch sends, how EC2's answers map to records, and
 * how EC2 error codes are classified. No I/O here.
 */

/** Set from LaunchRequest.tags by the leader; named here so list() callers can read them. */
export const TAG_TERM = 'poolparty:term';
export const TAG_ACTION = 'poolparty:action';

/**
 * EC2 states list() reports. `shutting-down` and `terminated` instances are gone for the pool
 * (they are not counted, and cannot come back); `stopped` ones are reported, as 'stopping': they
 * still exist, hold their volumes, and should be terminated or replaced by the leader.
 */
export const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'] as const;

export const THROTTLING_CODES = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'EC2ThrottledException',
]);
export const AUTH_CODES = new Set([
  'UnauthorizedOperation',
  'AuthFailure',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'OptInRequired',
]);
/** Answers that mean "try another subnet" (another availability zone). */
export const CAPACITY_CODES = new Set(['InsufficientInstanceCapacity', 'InsufficientFreeAddressesInSubnet']);

/** An instance as the EC2 provider reports it: the common record plus EC2 details. */
export interface Ec2InstanceRecord extends InstanceRecord {
  /** EC2's own state name (InstanceRecord.state folds stopped and shutting-down into 'stopping'). */
  ec2State: string;
  instanceType?: string;
  subnetId?: string;
  availabilityZone?: string;
}

export interface LaunchSpec {
  pool: string;
  cloud: string;
  using: Ec2UsingDefinition;
  count: number;
  clientToken: string;
  /** LaunchRequest.tags (term, action); validated by checkRequestTags. */
  requestTags: Record<string, string>;
  userData: string;
  /** undefined: no SubnetId (the default VPC's default subnet). */
  subnetId: string | undefined;
}

/** The tags of a launch: the config's, then the caller's, then the provider's own (which always win). */
export function launchTags(spec: Omit<LaunchSpec, 'userData' | 'subnetId' | 'count'>): Record<string, string> {
  return {
    Name: `${spec.pool}-${spec.cloud}`,
    ...spec.using.tags,
    ...spec.requestTags,
    [TAG_POOL]: spec.pool,
    [TAG_CLOUD]: spec.cloud,
    [TAG_TOKEN]: spec.clientToken,
  };
}

export function runInstancesInput(spec: LaunchSpec): RunInstancesCommandInput {
  const { using } = spec;
  const tags: Tag[] = Object.entries(launchTags(spec)).map(([Key, Value]) => ({ Key, Value }));
  const input: RunInstancesCommandInput = {
    ImageId: using.imageId,
    InstanceType: using.instanceType as RunInstancesCommandInput['InstanceType'],
    MinCount: spec.count,
    MaxCount: spec.count,
    ClientToken: spec.clientToken,
    // The SDK does not encode user data for RunInstances; EC2 expects base64.
    UserData: Buffer.from(spec.userData, 'utf8').toString('base64'),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
    // IMDSv2 only: a process on the node tricked into fetching a URL cannot read the role's credentials.
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
  };
  if (spec.subnetId !== undefined) input.SubnetId = spec.subnetId;
  if (using.securityGroupIds.length > 0) input.SecurityGroupIds = [...using.securityGroupIds];
  if (using.keyName !== undefined) input.KeyName = using.keyName;
  if (using.iamInstanceProfile !== undefined) {
    input.IamInstanceProfile =
      'arn' in using.iamInstanceProfile
        ? { Arn: using.iamInstanceProfile.arn }
        : { Name: using.iamInstanceProfile.name };
  }
  if (using.spot !== undefined) {
    input.InstanceMarketOptions = {
      MarketType: 'spot',
      SpotOptions: {
        SpotInstanceType: 'one-time',
        InstanceInterruptionBehavior: 'terminate',
        ...(using.spot.maxPrice !== undefined ? { MaxPrice: using.spot.maxPrice } : {}),
      },
    };
  }
  if (using.blockDevices.length > 0) {
    input.BlockDeviceMappings = using.blockDevices.map((b) => ({
      DeviceName: b.deviceName,
      Ebs: {
        VolumeSize: b.sizeGiB,
        VolumeType: b.volumeType,
        Encrypted: b.encrypted,
        DeleteOnTermination: b.deleteOnTermination,
        ...(b.iops !== undefined ? { Iops: b.iops } : {}),
        ...(b.throughput !== undefined ? { Throughput: b.throughput } : {}),
      },
    }));
  }
  return input;
}

/** Checks a LaunchRequest's token and tags before anything is sent (EC2 limits; no credentials). */
export function checkLaunchRequest(clientToken: string, tags: Record<string, string> | undefined): void {
  if (!clientToken || clientToken.length > 64 || !/^[\x20-\x7e]+$/.test(clientToken)) {
    throw new RemoterError('clientToken must be 1..64 printable ASCII characters (EC2 limit)');
  }
  for (const [key, value] of Object.entries(tags ?? {})) {
    if (typeof value !== 'string') throw new RemoterError(`tag '${key}' must be a string, got ${typeof value}`);
    if (key.length === 0 || key.length > 128 || value.length > 256) {
      throw new RemoterError(`tag '${key}': keys are 1..128 characters, values at most 256 (EC2 limits)`);
    }
    if (/^aws:/i.test(key)) throw new RemoterError(`tag '${key}': 'aws:' keys are reserved by AWS`);
    const leak = findCredential(key) ?? findCredential(value);
    if (leak) throw new RemoterError(`tag '${key}' must not contain AWS credentials (found ${leak})`);
  }
}

export function toState(ec2State: string | undefined): InstanceState {
  switch (ec2State) {
    case 'pending':
    case 'running':
    case 'terminated':
      return ec2State;
    default:
      // stopping, stopped, shutting-down: not serving, not (yet) gone.
      return 'stopping';
  }
}

export function toRecord(inst: Instance, monitorPort: number): Ec2InstanceRecord {
  const tags = Object.fromEntries((inst.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  const record: Ec2InstanceRecord = {
    id: inst.InstanceId ?? '',
    state: toState(inst.State?.Name),
    ec2State: inst.State?.Name ?? 'unknown',
    launchedAt: inst.LaunchTime?.getTime() ?? 0,
    tags,
  };
  if (inst.PrivateIpAddress) {
    record.privateIp = inst.PrivateIpAddress;
    // Agents gossip their private address; the monitor is reachable inside the VPC (or over a VPN).
    record.monitor = `http://${inst.PrivateIpAddress}:${monitorPort}`;
  }
  if (inst.PublicIpAddress) record.publicIp = inst.PublicIpAddress;
  if (inst.InstanceType) record.instanceType = inst.InstanceType;
  if (inst.SubnetId) record.subnetId = inst.SubnetId;
  if (inst.Placement?.AvailabilityZone) record.availabilityZone = inst.Placement.AvailabilityZone;
  return record;
}

/** EC2's error code of an SDK error (service errors carry it as name and Code). */
export function errorCode(err: unknown): string {
  const e = err as { Code?: unknown; name?: unknown };
  if (typeof e?.Code === 'string') return e.Code;
  return typeof e?.name === 'string' ? e.name : 'Unknown';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The principal EC2's UnauthorizedOperation message names ("User: arn:aws:… is not authorized"). */
export function principalIn(message: string): string | undefined {
  return /\bUser: (arn:[^\s]+)/.exec(message)?.[1];
}

/** EC2's message without the (long, opaque) encoded authorization failure blob. */
export function shortAuthMessage(message: string): string {
  return message.replace(/\s*Encoded authorization failure message:.*$/s, '').trim();
}

/** Instance ids EC2 names in InvalidInstanceID.NotFound ("The instance IDs 'i-1, i-2' do not exist"). */
export function idsIn(message: string): string[] {
  return [...message.matchAll(/\bi-[0-9a-f]{8,17}\b/g)].map((m) => m[0]);
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
