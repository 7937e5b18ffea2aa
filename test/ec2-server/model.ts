import { createHash } from 'node:crypto';
import { list, obj, type QueryObject, str } from './query.ts';

/**
 * The fake EC2's state: instances, reservations, client tokens and injected faults. It behaves
 * like EC2 where clients usually go wrong: a launch is `pending` before `running`, a terminated
 * instance is `shutting-down` then `terminated` and stays visible for a while, a client token
 * returns the first reservation (or IdempotentParameterMismatch when the parameters differ).
 * Time comes from an injected clock, so tests move through states without sleeping.
 */

export type Ec2StateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export const STATE_CODES: Record<Ec2StateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** An error EC2 would answer with: its code, message and HTTP status. */
export class FakeEc2Error extends Error {
  override name = 'FakeEc2Error';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface FakeInstance {
  instanceId: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  keyName?: string;
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  privateIp: string;
  /** Absent for an instance without a public address. */
  publicIp?: string;
  securityGroupIds: string[];
  iamInstanceProfile?: string;
  spot: boolean;
  /** Decoded user data (EC2 receives it base64). */
  userData?: string;
  clientToken?: string;
  amiLaunchIndex: number;
  launchedAt: number;
  terminateRequestedAt?: number;
  /** Insertion order = describe order, as stable pagination needs. */
  tags: Map<string, string>;
}

export interface Reservation {
  reservationId: string;
  instanceIds: string[];
}

export interface ModelOptions {
  /** How long a new instance stays `pending` (ms). Default 0: running at the next describe. */
  pendingMs?: number;
  /** How long a terminated instance stays `shutting-down` (ms). Default 0. */
  shuttingDownMs?: number;
  /** How long a `terminated` instance is still described (ms). Default 60 000 (EC2: about an hour). */
  terminatedVisibleMs?: number;
  /** Instances that may exist (not terminated) at once; beyond it RunInstances fails with InstanceLimitExceeded. */
  instanceLimit?: number;
  now?: () => number;
  /** Called for each instance a RunInstances creates (not for idempotent repeats). */
  onLaunch?: (instance: Readonly<FakeInstance>) => void;
  /**
   * The addresses of the `seq`-th instance created. Default: 10.x private, 203.0.113.x public,
   * never routable from tests; end-to-end tests hand out loopback addresses they own instead.
   */
  addressesFor?: (seq: number) => { privateIp: string; publicIp?: string };
  /** Called when an instance is asked to terminate (once). */
  onTerminate?: (instance: Readonly<FakeInstance>) => void;
}

export const OWNER_ID = '123456789012';
const USER_DATA_LIMIT = 16 * 1024;
const MAX_TAGS = 50;

export class Ec2Model {
  readonly instances = new Map<string, FakeInstance>();
  readonly reservations = new Map<string, Reservation>();
  private readonly tokens = new Map<string, { paramsHash: string; reservationId: string }>();
  private readonly throttles = new Map<string, number>();
  private readonly drops = new Map<string, number>();
  private readonly noCapacity = new Set<string>();
  private readonly unauthorized = new Set<string>();
  private counter = 0;
  readonly now: () => number;

  constructor(readonly opts: ModelOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  // ---- faults -------------------------------------------------------------------------------

  /** The next `count` calls of `action` fail with RequestLimitExceeded (503). */
  throttle(action: string, count: number): void {
    this.throttles.set(action, (this.throttles.get(action) ?? 0) + count);
  }

  /** RunInstances into these subnets fails with InsufficientInstanceCapacity until cleared. */
  setNoCapacity(subnetIds: string[]): void {
    this.noCapacity.clear();
    for (const s of subnetIds) this.noCapacity.add(s);
  }

  /** Calls of these actions ('*' for all) fail with UnauthorizedOperation. */
  setUnauthorized(actions: string[]): void {
    this.unauthorized.clear();
    for (const a of actions) this.unauthorized.add(a);
  }

  /**
   * The next `count` calls of `action` run (their effect stays) but the connection is cut before
   * the answer: what a caller sees when a response is lost on the way back.
   */
  dropResponses(action: string, count: number): void {
    this.drops.set(action, (this.drops.get(action) ?? 0) + count);
  }

  /** Whether this call's answer is to be dropped (counts it down). */
  takeDrop(action: string): boolean {
    const left = this.drops.get(action) ?? 0;
    if (left > 0) this.drops.set(action, left - 1);
    return left > 0;
  }

  clearFaults(): void {
    this.drops.clear();
    this.throttles.clear();
    this.noCapacity.clear();
    this.unauthorized.clear();
  }

  /** Faults checked before an action runs, in EC2's order: auth, then throttling. */
  checkFaults(action: string, principal: string): void {
    if (this.unauthorized.has(action) || this.unauthorized.has('*')) {
      throw new FakeEc2Error(
        'UnauthorizedOperation',
        `You are not authorized to perform this operation. User: ${principal} is not authorized to perform: ec2:${action} because no identity-based policy allows the ec2:${action} action. Encoded authorization failure message: ${randomish(this.counter++)}`,
        403,
      );
    }
    const left = this.throttles.get(action) ?? 0;
    if (left > 0) {
      this.throttles.set(action, left - 1);
      throw new FakeEc2Error('RequestLimitExceeded', 'Request limit exceeded.', 503);
    }
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  stateOf(inst: FakeInstance): Ec2StateName {
    const now = this.now();
    if (inst.terminateRequestedAt !== undefined) {
      return now - inst.terminateRequestedAt < (this.opts.shuttingDownMs ?? 0) ? 'shutting-down' : 'terminated';
    }
    return now - inst.launchedAt < (this.opts.pendingMs ?? 0) ? 'pending' : 'running';
  }

  /** Instances still described: terminated ones only for terminatedVisibleMs. */
  visible(): FakeInstance[] {
    const now = this.now();
    const keep = this.opts.terminatedVisibleMs ?? 60_000;
    const shuttingDown = this.opts.shuttingDownMs ?? 0;
    return [...this.instances.values()].filter(
      (i) => i.terminateRequestedAt === undefined || now - (i.terminateRequestedAt + shuttingDown) < keep,
    );
  }

  // ---- actions ------------------------------------------------------------------------------

  runInstances(params: QueryObject): { reservation: Reservation; instances: FakeInstance[] } {
    const imageId = required(params, 'ImageId');
    if (!/^ami-[0-9a-f]{8,17}$/.test(imageId)) {
      throw new FakeEc2Error('InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
    }
    const minCount = integer(params, 'MinCount');
    const maxCount = integer(params, 'MaxCount');
    if (minCount < 1 || maxCount < minCount) {
      throw new FakeEc2Error('InvalidParameterValue', `Invalid counts: MinCount ${minCount}, MaxCount ${maxCount}`);
    }
    const clientToken = str(params.ClientToken);
    if (clientToken !== undefined && (clientToken.length > 64 || !/^[\x20-\x7e]+$/.test(clientToken))) {
      throw new FakeEc2Error('InvalidParameterValue', 'ClientToken must be at most 64 ASCII characters');
    }
    const paramsHash = hashParams(params);
    if (clientToken !== undefined) {
      const earlier = this.tokens.get(clientToken);
      if (earlier) {
        if (earlier.paramsHash !== paramsHash) {
          throw new FakeEc2Error(
            'IdempotentParameterMismatch',
            `Arguments on this idempotent request are inconsistent with arguments used in previous request(s) with the same client token '${clientToken}'.`,
          );
        }
        const reservation = this.reservations.get(earlier.reservationId) as Reservation;
        return { reservation, instances: reservation.instanceIds.map((id) => this.instances.get(id) as FakeInstance) };
      }
    }
    const subnetId = str(params.SubnetId) ?? 'subnet-00000000default';
    if (this.noCapacity.has(subnetId)) {
      throw new FakeEc2Error(
        'InsufficientInstanceCapacity',
        `We currently do not have sufficient ${str(params.InstanceType) ?? 'm1.small'} capacity in the Availability Zone you requested (${zoneOf(subnetId)}). Our system will be working on provisioning additional capacity.`,
        500,
      );
    }
    const userData = decodeUserData(str(params.UserData));
    const tags = instanceTags(params);
    const live = [...this.instances.values()].filter((i) => i.terminateRequestedAt === undefined).length;
    if (this.opts.instanceLimit !== undefined && live + maxCount > this.opts.instanceLimit) {
      throw new FakeEc2Error(
        'InstanceLimitExceeded',
        `You have requested more instances (${live + maxCount}) than your current instance limit of ${this.opts.instanceLimit} allows.`,
      );
    }
    const spot = str(obj(params.InstanceMarketOptions).MarketType) === 'spot';
    const reservation: Reservation = { reservationId: `r-${hexId(this.counter++)}`, instanceIds: [] };
    const created: FakeInstance[] = [];
    for (let n = 0; n < maxCount; n++) {
      const seq = this.counter++;
      const inst: FakeInstance = {
        instanceId: `i-${hexId(seq)}`,
        reservationId: reservation.reservationId,
        imageId,
        instanceType: str(params.InstanceType) ?? 'm1.small',
        subnetId,
        vpcId: 'vpc-0123456789abcdef0',
        availabilityZone: zoneOf(subnetId),
        ...(this.opts.addressesFor?.(seq) ?? defaultAddresses(seq)),
        securityGroupIds: list(params.SecurityGroupId).map((v) => str(v) as string),
        spot,
        amiLaunchIndex: n,
        launchedAt: this.now(),
        tags: new Map(tags),
      };
      const keyName = str(params.KeyName);
      if (keyName !== undefined) inst.keyName = keyName;
      const profile = obj(params.IamInstanceProfile);
      const profileRef = str(profile.Name) ?? str(profile.Arn);
      if (profileRef !== undefined) inst.iamInstanceProfile = profileRef;
      if (userData !== undefined) inst.userData = userData;
      if (clientToken !== undefined) inst.clientToken = clientToken;
      this.instances.set(inst.instanceId, inst);
      reservation.instanceIds.push(inst.instanceId);
      created.push(inst);
    }
    this.reservations.set(reservation.reservationId, reservation);
    if (clientToken !== undefined)
      this.tokens.set(clientToken, { paramsHash, reservationId: reservation.reservationId });
    for (const inst of created) this.opts.onLaunch?.(inst);
    return { reservation, instances: created };
  }

  terminateInstances(ids: string[]): { inst: FakeInstance; previous: Ec2StateName }[] {
    if (ids.length === 0)
      throw new FakeEc2Error('MissingParameter', 'The request must contain the parameter InstanceId');
    const found = this.lookup(ids);
    return found.map((inst) => {
      const previous = this.stateOf(inst);
      if (inst.terminateRequestedAt === undefined) {
        inst.terminateRequestedAt = this.now();
        this.opts.onTerminate?.(inst);
      }
      return { inst, previous };
    });
  }

  createTags(resourceIds: string[], tags: [string, string][]): void {
    const found = this.lookup(resourceIds);
    for (const inst of found) {
      for (const [k, v] of tags) inst.tags.set(k, v);
      if (inst.tags.size > MAX_TAGS) throw new FakeEc2Error('TagLimitExceeded', 'The maximum number of tags is 50');
    }
  }

  /** Instances by id; unknown ones fail the whole call, as on EC2 (even terminated ones are known for a while). */
  lookup(ids: string[]): FakeInstance[] {
    const malformed = ids.filter((id) => !/^i-[0-9a-f]{8,17}$/.test(id));
    if (malformed.length > 0) {
      throw new FakeEc2Error('InvalidInstanceID.Malformed', `Invalid id: "${malformed[0]}"`);
    }
    const visible = new Set(this.visible().map((i) => i.instanceId));
    const missing = ids.filter((id) => !visible.has(id));
    if (missing.length > 0) {
      const plural = missing.length > 1;
      throw new FakeEc2Error(
        'InvalidInstanceID.NotFound',
        `The instance ID${plural ? 's' : ''} '${missing.join(', ')}' ${plural ? 'do' : 'does'} not exist`,
      );
    }
    return ids.map((id) => this.instances.get(id) as FakeInstance);
  }
}

function required(params: QueryObject, name: string): string {
  const value = str(params[name]);
  if (value === undefined || value === '') {
    throw new FakeEc2Error('MissingParameter', `The request must contain the parameter ${name}`);
  }
  return value;
}

function integer(params: QueryObject, name: string): number {
  const value = Number(required(params, name));
  if (!Number.isInteger(value)) throw new FakeEc2Error('InvalidParameterValue', `${name} must be an integer`);
  return value;
}

function decodeUserData(encoded: string | undefined): string | undefined {
  if (encoded === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw new FakeEc2Error('InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
  }
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length > USER_DATA_LIMIT) {
    throw new FakeEc2Error('InvalidParameterValue', `User data is limited to ${USER_DATA_LIMIT} bytes`);
  }
  return bytes.toString('utf8');
}

/** Tags of the `instance` TagSpecification; `volume` ones are accepted and dropped (no volumes here). */
function instanceTags(params: QueryObject): [string, string][] {
  const out: [string, string][] = [];
  for (const spec of list(params.TagSpecification).map(obj)) {
    const type = str(spec.ResourceType);
    if (type !== 'instance' && type !== 'volume' && type !== 'network-interface') {
      throw new FakeEc2Error(
        'InvalidParameterValue',
        `'${type}' is not a valid taggable resource type for this operation.`,
      );
    }
    const tags = list(spec.Tag).map(obj);
    if (tags.length > MAX_TAGS) throw new FakeEc2Error('TagLimitExceeded', 'The maximum number of tags is 50');
    for (const tag of tags) {
      const key = str(tag.Key) ?? '';
      const value = str(tag.Value) ?? '';
      if (key === '' || key.length > 128 || value.length > 256) {
        throw new FakeEc2Error(
          'InvalidParameterValue',
          `Invalid tag: key must be 1..128 characters, value at most 256`,
        );
      }
      if (key.toLowerCase().startsWith('aws:')) {
        throw new FakeEc2Error('InvalidParameterValue', `Tag keys starting with 'aws:' are reserved for internal use`);
      }
      if (type === 'instance') out.push([key, value]);
    }
  }
  return out;
}

/** Every parameter but the token itself, canonically ordered: the idempotency fingerprint. */
function hashParams(params: QueryObject): string {
  const { ClientToken: _t, Action: _a, Version: _v, ...rest } = params;
  return createHash('sha256').update(canonical(rest)).digest('hex');
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function hexId(n: number): string {
  return createHash('sha256').update(String(n)).digest('hex').slice(0, 9) + n.toString(16).padStart(8, '0');
}

function randomish(n: number): string {
  return createHash('sha256').update(`auth${n}`).digest('base64url').slice(0, 32);
}

/** A stable fake availability zone per subnet, so subnet fall-through is visible in records. */
function zoneOf(subnetId: string): string {
  const letter = 'abcdef'[createHash('sha256').update(subnetId).digest()[0]! % 6];
  return `us-east-1${letter}`;
}

/** 10.x private and 203.0.113.x (TEST-NET-3) public addresses: never routable from tests. */
function defaultAddresses(seq: number): { privateIp: string; publicIp: string } {
  return {
    privateIp: `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255 || 1}`,
    publicIp: `203.0.113.${(seq % 254) + 1}`,
  };
}
