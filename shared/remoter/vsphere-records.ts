import { createHash } from 'node:crypto';
import { type InstanceRecord, type InstanceState, RemoterError, TAG_CLOUD, TAG_POOL, TAG_TOKEN } from './types.ts';
import { type ObjectContent, optionValues } from './vsphere-values.ts';
import { text } from './vsphere-xml.ts';

/**
 * Pure: what the vSphere remoter writes on a VM and reads back. A VM's marks live in its
 * extraConfig (`poolparty.*` keys: VMX keys take no ':', so the caller's extra tags travel as one
 * JSON value); its name is derived from the launch token, so a retried launch looks for the very
 * VM it may already have made, and the name is the instance id nodes carry.
 */

export const MARK = {
  pool: 'poolparty.pool',
  cloud: 'poolparty.cloud',
  token: 'poolparty.token',
  launchedAt: 'poolparty.launchedAt',
  tags: 'poolparty.tags',
} as const;

/** What list() asks of every VM under the pool's folder. */
export const VM_PROPERTIES = [
  'name',
  'config.template',
  'config.extraConfig',
  'runtime.powerState',
  'guest.ipAddress',
  'guestHeartbeatStatus',
];

/** Longest pool-cloud prefix kept in a VM name: the name must stay an instance id (≤ 64 of [A-Za-z0-9-]). */
const PREFIX_MAX = 40;

/**
 * The name of the `index`th VM of a launch: readable prefix (pool-cloud), then a hash of pool, cloud
 * and token (the part that makes it unique), then the index.
 */
export function vmName(pool: string, cloud: string, token: string, index: number): string {
  const hash = createHash('sha256').update(`${pool}\0${cloud}\0${token}`).digest('hex').slice(0, 10);
  return `${`${pool}-${cloud}`.slice(0, PREFIX_MAX)}-${hash}-${index}`;
}

export interface Marks {
  pool: string;
  cloud: string;
  token: string;
  launchedAt: number;
  tags: Record<string, string>;
}

export function marksConfig(m: Marks): Record<string, string> {
  return {
    [MARK.pool]: m.pool,
    [MARK.cloud]: m.cloud,
    [MARK.token]: m.token,
    [MARK.launchedAt]: String(m.launchedAt),
    [MARK.tags]: JSON.stringify(m.tags),
  };
}

/** A VM as the property collector gave it. */
export interface VmView {
  name: string;
  ref: ObjectContent['obj'];
  template: boolean;
  config: Record<string, string>;
  powerState: string;
  ip?: string;
  heartbeat?: string;
}

export function vmView(o: ObjectContent): VmView {
  const ip = text(o.props.get('guest.ipAddress'));
  const heartbeat = text(o.props.get('guestHeartbeatStatus'));
  return {
    name: text(o.props.get('name')) ?? o.obj.value,
    ref: o.obj,
    template: text(o.props.get('config.template')) === 'true',
    config: optionValues(o.props.get('config.extraConfig')),
    powerState: text(o.props.get('runtime.powerState')) ?? 'unknown',
    ...(ip ? { ip } : {}),
    ...(heartbeat ? { heartbeat } : {}),
  };
}

export function isOurs(vm: VmView, pool: string, cloud?: string): boolean {
  return !vm.template && vm.config[MARK.pool] === pool && (cloud === undefined || vm.config[MARK.cloud] === cloud);
}

/**
 * Powered on with VMware Tools' heartbeat green or yellow: running; powered on without it yet:
 * pending (booting); powered off or suspended: stopping (terminate powers off, then destroys).
 */
export function stateOf(vm: Pick<VmView, 'powerState' | 'heartbeat'>): InstanceState {
  if (vm.powerState !== 'poweredOn') return 'stopping';
  return vm.heartbeat === 'green' || vm.heartbeat === 'yellow' ? 'running' : 'pending';
}

export function toRecord(vm: VmView, monitorPort: number): InstanceRecord {
  let extra: Record<string, string> = {};
  try {
    const parsed: unknown = JSON.parse(vm.config[MARK.tags] ?? '{}');
    if (parsed && typeof parsed === 'object') extra = parsed as Record<string, string>;
  } catch {
    // Someone edited the mark by hand: the pool, cloud and token marks still identify the VM.
  }
  const ip = vm.ip !== undefined && /^\d{1,3}(\.\d{1,3}){3}$/.test(vm.ip) ? vm.ip : undefined;
  return {
    id: vm.name,
    state: stateOf(vm),
    ...(ip ? { privateIp: ip, monitor: `http://${ip}:${monitorPort}` } : {}),
    launchedAt: Number(vm.config[MARK.launchedAt]) || 0,
    tags: {
      ...extra,
      [TAG_POOL]: vm.config[MARK.pool] ?? '',
      [TAG_CLOUD]: vm.config[MARK.cloud] ?? '',
      [TAG_TOKEN]: vm.config[MARK.token] ?? '',
    },
  };
}

/** The launch token must fit a VMX value and the extra tags a small JSON document. */
export function checkLaunchTokens(token: string, tags: Record<string, string> | undefined): void {
  if (!/^[ -~]{1,128}$/.test(token))
    throw new RemoterError(`invalid client token ${JSON.stringify(token)}: 1..128 printable ASCII characters`);
  if (JSON.stringify(tags ?? {}).length > 4096) throw new RemoterError('launch tags larger than 4 KB');
}
