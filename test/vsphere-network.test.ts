import { describe, expect, it } from 'vitest';
import { backingNode, firstNic, nicEdit, toNode } from '../shared/remoter/vsphere-network.ts';
import type { SoapTransport } from '../shared/remoter/vsphere-transport.ts';
import { list, obj, parseBody, render, text, typeOf, type XmlValue } from '../shared/remoter/vsphere-xml.ts';
import { useSimRemoters } from './vsphere-sim/remoters.ts';
import { counting } from './vsphere-sim/sim.ts';

/**
 * `using.network`: the clones' first network card moved to a standard network or a distributed
 * port group in the clone itself, checked by reading the clone's `network` property and its card's
 * backing in govmomi's simulator (its VPX template DC0_H0_VM0 sits on port group DC0_DVPG0).
 */

const UNIT = '[Unit]\nDescription=test unit\n[Service]\nExecStart=/bin/true\n';
const vs = useSimRemoters({ folder: 'poolparty/net', max: 5, unit: UNIT, bootstrap: [] }, 'pp-vsphere-net-');
const remoter = (name: string, using: Record<string, unknown>, transport?: SoapTransport) =>
  vs.remoter(vs.pool(name, using), transport ? { transport } : {});

const TEMPLATE = 'DC0/vm/DC0_H0_VM0';
const clone = (name: string) => `DC0/vm/poolparty/net/${name}`;

/** The VM's `network` references and its first card's backing, read by another session. */
async function networkOf(path: string) {
  const c = vs.sim.client();
  const ref = await c.findByInventoryPath(path);
  if (!ref) throw new Error(`VM ${path} not found`);
  const props = await c.properties(ref, ['network', 'config.hardware.device', 'runtime.powerState']);
  const networks = list(obj(props.get('network')).ManagedObjectReference).map((m) => text(m));
  const nic = obj(firstNic(props.get('config.hardware.device')));
  return { networks, nic, backing: obj(nic.backing), power: text(props.get('runtime.powerState')) };
}

async function refOf(path: string): Promise<string> {
  const ref = await vs.sim.client().findByInventoryPath(path);
  if (!ref) throw new Error(`${path} not found`);
  return ref.value;
}

describe('vsphere clones on a chosen network', () => {
  it("network: 'VM Network' puts the clone's card on that standard network, in the clone's own task", async () => {
    const { send, calls } = counting(vs.https.send);
    const template = await networkOf(TEMPLATE);
    expect(typeOf(template.backing)).toBe('VirtualEthernetCardDistributedVirtualPortBackingInfo');
    const [vm] = await (await remoter('std', { network: 'VM Network' }, send)).launch({
      cloud: 'app',
      count: 1,
      clientToken: 'std-1',
    });
    if (!vm) throw new Error('nothing launched');
    const seen = await networkOf(clone(vm.id));
    expect(seen.power).toBe('poweredOn');
    expect(seen.networks).toEqual([await refOf('DC0/network/VM Network')]);
    expect(typeOf(seen.backing)).toBe('VirtualEthernetCardNetworkBackingInfo');
    expect(text(seen.backing.deviceName)).toBe('VM Network');
    // The card was edited, not replaced: same key and address as the template's.
    expect(text(seen.nic.key)).toBe(text(template.nic.key));
    expect(text(seen.nic.macAddress)).toBe(text(template.nic.macAddress));
    expect(calls).not.toContain('ReconfigVM_Task');
    // The template keeps its own network.
    expect((await networkOf(TEMPLATE)).networks).toEqual(template.networks);
  });

  it('a distributed port group connects the card to that port group on its switch', async () => {
    // A template on 'VM Network' (the previous test's clone), cloned onto port group DC0_DVPG0.
    const [source] = await (await remoter('std', { network: 'VM Network' })).list({ pool: 'std' });
    if (!source) throw new Error('no clone on VM Network');
    const [vm] = await (await remoter('dvs', { template: `poolparty/net/${source.id}`, network: 'DC0_DVPG0' })).launch({
      cloud: 'app',
      count: 1,
      clientToken: 'dvs-1',
    });
    if (!vm) throw new Error('nothing launched');
    const seen = await networkOf(clone(vm.id));
    const pg = await refOf('DC0/network/DC0_DVPG0');
    expect(seen.networks).toEqual([pg]);
    expect(typeOf(seen.backing)).toBe('VirtualEthernetCardDistributedVirtualPortBackingInfo');
    const port = obj(seen.backing.port);
    expect(text(port.portgroupKey)).toBe(pg);
    const dvs = await vs.sim.client().findByInventoryPath('DC0/network/DVS0');
    if (!dvs) throw new Error('no switch');
    expect(text(port.switchUuid)).toBe(text((await vs.sim.client().properties(dvs, ['uuid'])).get('uuid')));
  });

  it('a network that does not exist, or is not a network, is a one-line error before anything is cloned', async () => {
    for (const [network, message] of [
      ['No Such Net', "using.network: 'DC0/network/No Such Net' does not exist in vCenter"],
      ['DVS0', "using.network: 'DC0/network/DVS0' is a DistributedVirtualSwitch, not a network"],
    ] as const) {
      const { send, calls } = counting(vs.https.send);
      const r = await remoter('bad', { network }, send);
      const err = await r.launch({ cloud: 'app', count: 1, clientToken: `bad-${network}` }).then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(err).toContain(message);
      expect(err?.split('\n')).toHaveLength(1);
      expect(calls).not.toContain('CloneVM_Task');
      expect(calls).not.toContain('CreateFolder');
    }
    expect(await (await remoter('bad', {})).list({ pool: 'bad' })).toEqual([]);
  });
});

describe('the network card edit, as XML', () => {
  const answer = (device: string) =>
    parseBody(
      `<Envelope><Body><R><returnval xsi:type="ArrayOfVirtualDevice">${device}</returnval></R></Body></Envelope>`,
    );
  const devices = (xml: string): XmlValue => obj(answer(xml).R).returnval;

  it('keeps the card whole and in order, replacing only its backing', () => {
    const card =
      '<VirtualDevice xsi:type="VirtualVmxnet3"><key>4000</key><deviceInfo><label>Network adapter 1</label></deviceInfo>' +
      '<backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><deviceName>Old</deviceName><network type="Network">network-1</network></backing>' +
      '<slotInfo xsi:type="VirtualDevicePciBusSlotInfo"><pciSlotNumber>192</pciSlotNumber></slotInfo>' +
      '<controllerKey>100</controllerKey><macAddress>00:50:56:aa:bb:cc</macAddress></VirtualDevice>';
    const disk = '<VirtualDevice xsi:type="VirtualDisk"><key>2000</key></VirtualDevice>';
    const nic = firstNic(devices(disk + card));
    expect(text(obj(nic).key)).toBe('4000');
    const edit = nicEdit(nic, backingNode({ kind: 'portgroup', portgroupKey: 'dvportgroup-9', switchUuid: 'u-1' }));
    expect(render(edit)).toBe(
      '<deviceChange><operation>edit</operation><device xsi:type="VirtualVmxnet3"><key>4000</key>' +
        '<deviceInfo><label>Network adapter 1</label></deviceInfo>' +
        '<backing xsi:type="VirtualEthernetCardDistributedVirtualPortBackingInfo"><port><switchUuid>u-1</switchUuid><portgroupKey>dvportgroup-9</portgroupKey></port></backing>' +
        '<slotInfo xsi:type="VirtualDevicePciBusSlotInfo"><pciSlotNumber>192</pciSlotNumber></slotInfo>' +
        '<controllerKey>100</controllerKey><macAddress>00:50:56:aa:bb:cc</macAddress></device></deviceChange>',
    );
    expect(firstNic(devices(disk))).toBeUndefined();
  });

  it('writes a reference back as a reference and a typed string as a typed string', () => {
    const v = obj(
      devices(
        '<VirtualDevice xsi:type="X"><network type="Network">n-1</network><s xsi:type="xsd:string">v</s></VirtualDevice>',
      ),
    ).VirtualDevice;
    expect(render(toNode('d', v))).toBe(
      '<d xsi:type="X"><network type="Network">n-1</network><s xsi:type="xsd:string">v</s></d>',
    );
  });
});
