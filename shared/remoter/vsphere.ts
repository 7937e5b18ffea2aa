import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { poolKeyFile } from '../config/resolve.ts';
import { vsphereUrlCredentials } from '../config/vsphere-schema.ts';
import { createLogger, type Logger } from '../log.ts';
import { agentUnitText } from '../package-files.ts';
import { ensurePoolKey } from '../pool-key.ts';
import { checkLaunchTarget } from './launch-check.ts';
import { type LaunchCloud, launchCloud } from './launch-cloud.ts';
import { VSPHERE_REMOTER_DEFAULTS, type VsphereRemoterTunables } from './remoter-tunables.ts';
import type {
  InstanceRecord,
  LaunchContext,
  LaunchRequest,
  ListFilter,
  ReconcileReport,
  RemoterBase,
} from './types.ts';
import { VsphereClient } from './vsphere-client.ts';
import { VsphereFaultError, VsphereSetupError, VsphereTerminateRefusedError } from './vsphere-errors.ts';
import { VsphereInventory } from './vsphere-inventory.ts';
import {
  checkLaunchTokens,
  isOurs,
  MARK,
  marksConfig,
  toRecord,
  VM_PROPERTIES,
  type VmView,
  vmName,
  vmView,
} from './vsphere-records.ts';
import type { SoapTransport } from './vsphere-transport.ts';
import { guestinfo } from './vsphere-user-data.ts';

/**
 * The vSphere remoter base (docs/vsphere.md), over vCenter's vim25 SOAP API (vsphere-client.ts).
 *
 * - launch: per VM, a name derived from the launch token; a VM of the pool already carrying the
 *   token (an earlier launch whose answer was lost, or a dead leader's) is returned — powered on if
 *   it is off — instead of cloning another. Otherwise CloneVM_Task of the template into the pool's
 *   folder with the node bootstrap in guestinfo and the pool/cloud/token marks in extraConfig, then
 *   PowerOnVM_Task. vCenter refuses a second VM of one name in a folder (DuplicateName): a clone
 *   racing another launch of the same token adopts the VM that won.
 * - list: the VMs under the pool's folder through the PropertyCollector, page by page, kept when
 *   their marks name this pool (and cloud); state from power state and the guest heartbeat.
 * - terminate: refuses (all) if any named VM is not this pool's and cloud's; VMs already gone are
 *   skipped; then PowerOffVM_Task and Destroy_Task for each, resolving once they are destroyed.
 *
 * Credentials: VSPHERE_USER and VSPHERE_PASSWORD, else the user info of `using.url` as clouds.ts
 * gave it (the laptop's parse; nodes never carry it, so a leader needs the variables).
 */

/** Its tunables (pageSize, taskTimeoutMs, terminateParallel) are documented in remoter-tunables.ts. */
export interface VsphereRemoterOptions extends LaunchContext, Partial<VsphereRemoterTunables> {
  /** The systemd unit text. Default: <package>/systemd/poolparty-agent.service. */
  unit?: string;
  log?: Logger;
  /** Where VSPHERE_USER/VSPHERE_PASSWORD are read. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Another SOAP round trip (tests). */
  transport?: SoapTransport;
}

export { VSPHERE_REMOTER_DEFAULTS };

export function createVsphereRemoter(opts: VsphereRemoterOptions): VsphereRemoter {
  return new VsphereRemoter(opts);
}

export class VsphereRemoter implements RemoterBase {
  readonly provider = 'vsphere';
  private readonly target: LaunchCloud<'vsphere'>;
  private readonly log: Logger;
  private client: VsphereClient | undefined;
  private inventory: VsphereInventory | undefined;
  private unit: string | undefined;

  constructor(private readonly opts: VsphereRemoterOptions) {
    this.target = launchCloud(opts, 'vsphere');
    this.log = (opts.log ?? createLogger()).child({
      component: 'vsphere-remoter',
      pool: opts.pool.name,
      cloud: opts.cloud,
    });
  }

  async launch(req: LaunchRequest): Promise<InstanceRecord[]> {
    checkLaunchTarget(req, this.opts.cloud);
    checkLaunchTokens(req.clientToken, req.tags);
    if (req.count === 0) return [];
    const earlier = (await this.vms()).filter((vm) => vm.config[MARK.token] === req.clientToken);
    if (earlier.length > 0) {
      this.log.info('client token already launched; returning that launch', { clientToken: req.clientToken });
      return Promise.all(earlier.map((vm) => this.poweredOn(vm)));
    }
    await this.seedAddress();
    const out: InstanceRecord[] = [];
    for (let i = 0; i < req.count; i++)
      out.push(await this.launchOne(req, vmName(this.opts.pool.name, req.cloud, req.clientToken, i)));
    return out;
  }

  async list(filter: ListFilter): Promise<InstanceRecord[]> {
    if (filter.pool !== this.opts.pool.name) return [];
    return (await this.vms(filter.cloud)).map((vm) => toRecord(vm, this.target.monitorPort));
  }

  /** Every VM of the pool carries its marks from its clone on, so reconciling is adopting what is listed. */
  async reconcile(filter: ListFilter): Promise<ReconcileReport> {
    const adopted = (await this.list(filter)).map((i) => i.id);
    this.log.info('reconciled', { pool: filter.pool, cloud: filter.cloud, adopted });
    return { adopted, cleared: [], strays: [] };
  }

  async terminate(ids: string[]): Promise<void> {
    const wanted = [...new Set(ids)];
    if (wanted.length === 0) return;
    const byName = new Map<string, VmView>();
    for (const vm of await this.vms(undefined, false)) byName.set(vm.name, vm);
    const foreign = wanted.filter((id) => {
      const vm = byName.get(id);
      return vm !== undefined && !isOurs(vm, this.opts.pool.name, this.opts.cloud);
    });
    if (foreign.length > 0) throw new VsphereTerminateRefusedError(foreign, []);
    const gone = wanted.filter((id) => !byName.has(id));
    if (gone.length > 0) this.log.info('already gone', { ids: gone });
    const targets = wanted.flatMap((id) => byName.get(id) ?? []);
    const parallel = this.opts.terminateParallel ?? VSPHERE_REMOTER_DEFAULTS.terminateParallel;
    for (let i = 0; i < targets.length; i += parallel) {
      await Promise.all(targets.slice(i, i + parallel).map((vm) => this.destroy(vm)));
    }
  }

  /** Logs out and closes the connections (the CLI's remoters live one command). */
  async close(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
    this.inventory = undefined;
  }

  private async launchOne(req: LaunchRequest, name: string): Promise<InstanceRecord> {
    const { client, inventory } = this.connect();
    const place = await inventory.launchPlace();
    const extraConfig = {
      ...(await this.guestinfo(name)),
      ...marksConfig({
        pool: this.opts.pool.name,
        cloud: req.cloud,
        token: req.clientToken,
        launchedAt: Date.now(),
        tags: req.tags ?? {},
      }),
    };
    try {
      await client.cloneVm({ ...place, name, extraConfig });
      this.log.info('cloned', { name, clientToken: req.clientToken });
    } catch (err) {
      if (!(err instanceof VsphereFaultError) || err.fault !== 'DuplicateName') throw err;
      this.log.info('a VM of this name exists; adopting it if it carries this launch token', { name });
    }
    const vm = await this.waitForVm(name);
    if (vm.config[MARK.token] !== req.clientToken || !isOurs(vm, this.opts.pool.name, req.cloud))
      throw new VsphereSetupError(`a VM named ${name} exists in the pool's folder and is not this launch's`);
    return this.poweredOn(vm);
  }

  /**
   * New nodes find the pool through the listed addresses of its VMs, and a VM has one only once its
   * guest reports it (VMware Tools): a launch right after the pool's first (bootstrap's seed) waits
   * for that address, bounded, instead of handing the new VMs no peer at all.
   */
  private async seedAddress(): Promise<void> {
    const bound = Date.now() + (this.opts.taskTimeoutMs ?? VSPHERE_REMOTER_DEFAULTS.taskTimeoutMs);
    for (let wait = 500; ; wait = Math.min(5000, wait * 2)) {
      const live = (await this.vms()).filter((vm) => vm.powerState === 'poweredOn');
      if (live.length === 0 || live.some((vm) => vm.ip !== undefined)) return;
      if (Date.now() > bound) return this.log.warn('no VM of the pool reports an address; launching without peers');
      await sleep(wait);
    }
  }

  /** The VM of this name in the pool's folder, waiting (bounded) for a clone that is still running. */
  private async waitForVm(name: string): Promise<VmView> {
    const bound = Date.now() + (this.opts.taskTimeoutMs ?? VSPHERE_REMOTER_DEFAULTS.taskTimeoutMs);
    for (let wait = 200; ; wait = Math.min(5000, wait * 2)) {
      const vm = (await this.vms(undefined, false)).find((v) => v.name === name);
      if (vm) return vm;
      if (Date.now() > bound) throw new VsphereSetupError(`VM ${name} did not appear in the pool's folder`);
      await sleep(wait);
    }
  }

  private async poweredOn(vm: VmView): Promise<InstanceRecord> {
    if (vm.powerState !== 'poweredOn') {
      try {
        await this.connect().client.powerOn(vm.ref);
      } catch (err) {
        // Powered on meanwhile by the launch this one repeats.
        if (!(err instanceof VsphereFaultError) || err.fault !== 'InvalidPowerState') throw err;
      }
      this.log.info('powered on', { name: vm.name });
    }
    return toRecord({ ...vm, powerState: 'poweredOn' }, this.target.monitorPort);
  }

  private async destroy(vm: VmView): Promise<void> {
    const { client } = this.connect();
    if (vm.powerState === 'poweredOn') {
      try {
        await client.powerOff(vm.ref);
      } catch (err) {
        if (!(err instanceof VsphereFaultError) || err.fault !== 'InvalidPowerState') throw err;
      }
    }
    await client.destroy(vm.ref);
    this.log.info('destroyed', { name: vm.name });
  }

  /** VMs under the pool's folder: this pool's (and cloud's) only unless `mineOnly` is false. */
  private async vms(cloud?: string, mineOnly = true): Promise<VmView[]> {
    const { client, inventory } = this.connect();
    const folder = await inventory.poolFolder();
    if (!folder) return [];
    const pageSize = this.opts.pageSize ?? VSPHERE_REMOTER_DEFAULTS.pageSize;
    const views = (await client.retrieve(folder, 'VirtualMachine', VM_PROPERTIES, pageSize)).map(vmView);
    return mineOnly ? views.filter((vm) => isOurs(vm, this.opts.pool.name, cloud)) : views.filter((vm) => !vm.template);
  }

  private connect(): { client: VsphereClient; inventory: VsphereInventory } {
    if (!this.client || !this.inventory) {
      const env = this.opts.env ?? process.env;
      const fromUrl = vsphereUrlCredentials(this.target.using);
      const user = env.VSPHERE_USER || fromUrl?.user;
      const password = env.VSPHERE_USER ? env.VSPHERE_PASSWORD : fromUrl?.password;
      if (!user || password === undefined)
        throw new VsphereSetupError(
          'no vCenter credentials: set VSPHERE_USER and VSPHERE_PASSWORD (or user info in using.url on the laptop)',
        );
      this.client = new VsphereClient({
        url: this.target.using.url,
        user,
        password,
        tls: {
          insecure: this.target.using.insecure,
          ...(this.target.using.thumbprint ? { thumbprint: this.target.using.thumbprint } : {}),
        },
        ...(this.opts.transport ? { transport: this.opts.transport } : {}),
        taskTimeoutMs: this.opts.taskTimeoutMs ?? VSPHERE_REMOTER_DEFAULTS.taskTimeoutMs,
        requestTimeoutMs: this.opts.requestTimeoutMs ?? VSPHERE_REMOTER_DEFAULTS.requestTimeoutMs,
        taskPollMs: this.opts.taskPollMs ?? VSPHERE_REMOTER_DEFAULTS.taskPollMs,
      });
      this.inventory = new VsphereInventory(this.client, this.target.using);
    }
    return { client: this.client, inventory: this.inventory };
  }

  private async guestinfo(vmName: string): Promise<Record<string, string>> {
    const o = this.opts;
    const resolved = async <T>(v: T | (() => T | Promise<T>)): Promise<T> =>
      typeof v === 'function' ? (v as () => T | Promise<T>)() : v;
    this.unit ??= o.unit ?? (await agentUnitText());
    const [{ key }, peers, bundleHash] = await Promise.all([
      ensurePoolKey(o.poolKeyFile ?? poolKeyFile(resolve(o.stateDir))),
      resolved(o.bootstrap ?? []),
      resolved(o.bundleHash),
    ]);
    return guestinfo({
      pool: o.pool,
      cloud: o.cloud,
      poolKey: key,
      bootstrap: peers,
      unit: this.unit,
      vmName,
      ...(bundleHash !== undefined ? { bundleHash } : {}),
    });
  }
}
