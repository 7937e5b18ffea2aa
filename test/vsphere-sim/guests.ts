import { setTimeout as sleep } from 'node:timers/promises';
import type { VsphereClient } from '../../shared/remoter/vsphere-client.ts';
import { decodeGuestinfo } from '../../shared/remoter/vsphere-user-data.ts';
import { optionValues } from '../../shared/remoter/vsphere-values.ts';
import { text } from '../../shared/remoter/vsphere-xml.ts';
import type { FakeInstance } from '../ec2-server/model.ts';
import type { Ec2Machines } from '../fixtures/ec2-instances.ts';

/**
 * The guests of the simulator's VMs: the simulated VMs cannot boot, so a powered-on VM of the
 * folder is "booted" by the EC2 tests' machines (test/fixtures/ec2-instances.ts), which run its
 * real user data — here read back from its guestinfo.userdata — and then the real agent. Its
 * network is a loopback address, handed to the script as POOLPARTY_PRIVATE_IP; VMware Tools' part
 * is played by setting the VM's guest.ipAddress and a green heartbeat in the simulator. A VM
 * powered off or destroyed stops its machine.
 */

export class SimGuests {
  readonly booted = new Set<string>();
  /** The most VMs seen powered on at once. */
  maxOn = 0;
  #stopped = false;
  #loop: Promise<void>;

  constructor(
    private readonly client: VsphereClient,
    /** Inventory path of the pool's folder, e.g. 'DC0/vm/pools/app'. */
    private readonly folder: string,
    private readonly machines: Ec2Machines,
  ) {
    this.#loop = this.#run();
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      await this.#tick().catch(() => undefined);
      await sleep(200);
    }
  }

  async #tick(): Promise<void> {
    const folder = await this.client.findByInventoryPath(this.folder);
    if (!folder) return;
    const vms = await this.client.retrieve(
      folder,
      'VirtualMachine',
      ['name', 'runtime.powerState', 'config.extraConfig'],
      100,
    );
    const on = new Set<string>();
    for (const vm of vms) {
      const name = text(vm.props.get('name')) ?? '';
      if (text(vm.props.get('runtime.powerState')) !== 'poweredOn') continue;
      on.add(name);
      if (this.booted.has(name) || this.#stopped) continue;
      const config = optionValues(vm.props.get('config.extraConfig'));
      const script = config['guestinfo.userdata'];
      if (script === undefined) continue;
      const { privateIp } = this.machines.addressesFor();
      await this.client.reconfigure(vm.obj, { 'SET.guest.ipAddress': privateIp, 'SET.guestHeartbeatStatus': 'green' });
      this.booted.add(name);
      const userData = `export POOLPARTY_PRIVATE_IP=${privateIp}\n${decodeGuestinfo(script, config['guestinfo.userdata.encoding'])}`;
      this.machines.onLaunch({ instanceId: name, privateIp, userData } as FakeInstance);
    }
    this.maxOn = Math.max(this.maxOn, on.size);
    for (const name of this.booted) {
      const m = this.machines.machines.get(name);
      if (!on.has(name) && m && !m.terminated) this.machines.onTerminate({ instanceId: name } as FakeInstance);
    }
  }
}
