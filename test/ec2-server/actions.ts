import {
  type Ec2Model,
  type Ec2StateName,
  FakeEc2Error,
  type FakeInstance,
  OWNER_ID,
  type Reservation,
  STATE_CODES,
} from './model.ts';
import { list, obj, type QueryObject, str } from './query.ts';
import { items, type XmlNode } from './xml.ts';

/**
 * Response bodies of the fake EC2, element for element as EC2 sends them (and as the SDK's
 * schemas in @aws-sdk/client-ec2 read them: reservationSet/item/instancesSet/item/…, lists as
 * `<item>`, timestamps ISO 8601), plus DescribeInstances' filters and pagination.
 */

const MIN_RESULTS = 5;
const MAX_RESULTS = 1000;

export function runInstancesXml(
  model: Ec2Model,
  result: { reservation: Reservation; instances: FakeInstance[] },
): XmlNode[] {
  return reservationBody(model, result.reservation.reservationId, result.instances);
}

export function terminateInstancesXml(changes: { inst: FakeInstance; previous: Ec2StateName }[]): XmlNode[] {
  // The current state is shutting-down right after the call even when shuttingDownMs is 0, as on EC2.
  return [
    items(
      'instancesSet',
      changes.map(({ inst, previous }) => [
        ['instanceId', inst.instanceId],
        ['currentState', stateXml(previous === 'terminated' ? 'terminated' : 'shutting-down')],
        ['previousState', stateXml(previous)],
      ]),
    ),
  ];
}

export function describeInstances(model: Ec2Model, params: QueryObject): XmlNode[] {
  const ids = list(params.InstanceId).map((v) => str(v) as string);
  const maxResults = str(params.MaxResults);
  if (maxResults !== undefined && ids.length > 0) {
    throw new FakeEc2Error(
      'InvalidParameterCombination',
      'The parameter instancesSet cannot be used with the parameter maxResults',
    );
  }
  const pageSize = maxResults === undefined ? undefined : Number(maxResults);
  if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < MIN_RESULTS || pageSize > MAX_RESULTS)) {
    throw new FakeEc2Error(
      'InvalidParameterValue',
      `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between ${MIN_RESULTS} and ${MAX_RESULTS}.`,
    );
  }
  const filters = list(params.Filter).map(obj).map(parseFilter);
  const pool = ids.length > 0 ? model.lookup(ids) : model.visible();
  const matching = pool.filter((inst) => filters.every((f) => f.matches(inst, model)));

  const fingerprint = JSON.stringify({ ids, filters: filters.map((f) => f.key) });
  const offset = decodeToken(str(params.NextToken), fingerprint);
  const end = pageSize === undefined ? matching.length : Math.min(matching.length, offset + pageSize);
  const page = matching.slice(offset, end);
  const next = end < matching.length ? encodeToken(end, fingerprint) : undefined;

  // Consecutive instances of one reservation share one reservationSet item.
  const groups: FakeInstance[][] = [];
  for (const inst of page) {
    const last = groups.at(-1);
    if (last && last[0]?.reservationId === inst.reservationId) last.push(inst);
    else groups.push([inst]);
  }
  return [
    items(
      'reservationSet',
      groups.map((g) => reservationBody(model, (g[0] as FakeInstance).reservationId, g)),
    ),
    next === undefined ? undefined : ['nextToken', next],
  ].filter((n): n is XmlNode => n !== undefined);
}

function reservationBody(model: Ec2Model, reservationId: string, instances: FakeInstance[]): XmlNode[] {
  return [
    ['reservationId', reservationId],
    ['ownerId', OWNER_ID],
    ['groupSet', []],
    items(
      'instancesSet',
      instances.map((i) => instanceXml(model, i)),
    ),
  ];
}

function instanceXml(model: Ec2Model, inst: FakeInstance): (XmlNode | undefined)[] {
  const state = model.stateOf(inst);
  const live = state === 'pending' || state === 'running';
  const running = state === 'running';
  return [
    ['instanceId', inst.instanceId],
    ['imageId', inst.imageId],
    ['instanceState', stateXml(state)],
    ['privateDnsName', live ? `ip-${inst.privateIp.replaceAll('.', '-')}.ec2.internal` : ''],
    ['dnsName', running && inst.publicIp ? `ec2-${inst.publicIp.replaceAll('.', '-')}.compute-1.amazonaws.com` : ''],
    ['reason', state === 'terminated' ? 'User initiated' : ''],
    inst.keyName === undefined ? undefined : ['keyName', inst.keyName],
    ['amiLaunchIndex', inst.amiLaunchIndex],
    ['productCodes', []],
    ['instanceType', inst.instanceType],
    ['launchTime', new Date(inst.launchedAt).toISOString()],
    [
      'placement',
      [
        ['availabilityZone', inst.availabilityZone],
        ['groupName', ''],
        ['tenancy', 'default'],
      ],
    ],
    ['monitoring', [['state', 'disabled']]],
    live ? ['subnetId', inst.subnetId] : undefined,
    live ? ['vpcId', inst.vpcId] : undefined,
    live ? ['privateIpAddress', inst.privateIp] : undefined,
    running && inst.publicIp ? ['ipAddress', inst.publicIp] : undefined,
    ['sourceDestCheck', true],
    items(
      'groupSet',
      inst.securityGroupIds.map((g) => [
        ['groupId', g],
        ['groupName', g.replace(/^sg-/, 'group-')],
      ]),
    ),
    ['architecture', 'x86_64'],
    ['rootDeviceType', 'ebs'],
    ['rootDeviceName', '/dev/xvda'],
    ['blockDeviceMapping', []],
    inst.spot ? ['instanceLifecycle', 'spot'] : undefined,
    ['virtualizationType', 'hvm'],
    inst.clientToken === undefined ? undefined : ['clientToken', inst.clientToken],
    items(
      'tagSet',
      [...inst.tags].map(([key, value]) => [
        ['key', key],
        ['value', value],
      ]),
    ),
    ['hypervisor', 'xen'],
    inst.iamInstanceProfile === undefined
      ? undefined
      : [
          'iamInstanceProfile',
          [
            ['arn', profileArn(inst.iamInstanceProfile)],
            ['id', 'AIPAEXAMPLEPROFILEID'],
          ],
        ],
    ['ebsOptimized', false],
  ];
}

function stateXml(state: Ec2StateName): XmlNode[] {
  return [
    ['code', STATE_CODES[state]],
    ['name', state],
  ];
}

function profileArn(ref: string): string {
  return ref.startsWith('arn:') ? ref : `arn:aws:iam::${OWNER_ID}:instance-profile/${ref}`;
}

interface Filter {
  key: string;
  matches(inst: FakeInstance, model: Ec2Model): boolean;
}

/** The filters a remoter needs; values are OR'ed, filters AND'ed; `*` and `?` are wildcards, as on EC2. */
function parseFilter(f: QueryObject): Filter {
  const name = str(f.Name) ?? '';
  const values = list(f.Value).map((v) => globRegExp(str(v) ?? ''));
  const any = (actual: string | undefined) => actual !== undefined && values.some((re) => re.test(actual));
  const key = `${name}=${values.map(String).join('|')}`;
  if (name.startsWith('tag:')) {
    const tag = name.slice(4);
    return { key, matches: (i) => any(i.tags.get(tag)) };
  }
  switch (name) {
    case 'tag-key':
      return { key, matches: (i) => [...i.tags.keys()].some((k) => any(k)) };
    case 'instance-state-name':
      return { key, matches: (i, m) => any(m.stateOf(i)) };
    case 'instance-id':
      return { key, matches: (i) => any(i.instanceId) };
    case 'client-token':
      return { key, matches: (i) => any(i.clientToken) };
    case 'subnet-id':
      return { key, matches: (i) => any(i.subnetId) };
    case 'reservation-id':
      return { key, matches: (i) => any(i.reservationId) };
    default:
      throw new FakeEc2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
  }
}

function globRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${body}$`);
}

function encodeToken(offset: number, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ offset, fingerprint })).toString('base64url');
}

function decodeToken(token: string | undefined, fingerprint: string): number {
  if (token === undefined) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      offset: unknown;
      fingerprint: unknown;
    };
    if (typeof parsed.offset === 'number' && parsed.fingerprint === fingerprint) return parsed.offset;
  } catch {
    // fall through: a token we did not issue
  }
  throw new FakeEc2Error('InvalidPaginationToken', 'The specified pagination token is not valid or is expired.');
}
