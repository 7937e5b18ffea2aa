import type { VsphereClient } from './vsphere-client.ts';
import { VsphereSetupError } from './vsphere-errors.ts';
import { el, list, type MoRef, moEl, moRef, obj, text, typeOf, type XmlNode, type XmlValue } from './vsphere-xml.ts';

/**
 * The clones' network (`using.network`): the template's first network card, reconnected to a
 * standard network or a distributed port group by an `edit` in the clone's RelocateSpec
 * deviceChange — part of the clone itself, so a clone whose answer was lost and is adopted by a
 * retried launch is already on the right network. The card is sent back whole (as read from the
 * template) with only its backing replaced: vCenter takes an edited device as the whole device.
 */

/** The vim25 types of VirtualEthernetCard. */
const ETHERNET_CARDS = new Set([
  'VirtualE1000',
  'VirtualE1000e',
  'VirtualPCNet32',
  'VirtualVmxnet',
  'VirtualVmxnet2',
  'VirtualVmxnet3',
  'VirtualVmxnet3Vrdma',
  'VirtualSriovEthernetCard',
]);

export type NetworkBacking =
  | { kind: 'network'; name: string; ref: MoRef }
  | { kind: 'portgroup'; portgroupKey: string; switchUuid: string };

/** A card's backing: a standard network by name and reference, or a port group of a distributed switch. */
export function backingNode(b: NetworkBacking): XmlNode {
  if (b.kind === 'network')
    return el('backing', [el('deviceName', b.name), moEl('network', b.ref)], {
      'xsi:type': 'VirtualEthernetCardNetworkBackingInfo',
    });
  return el('backing', [el('port', [el('switchUuid', b.switchUuid), el('portgroupKey', b.portgroupKey)])], {
    'xsi:type': 'VirtualEthernetCardDistributedVirtualPortBackingInfo',
  });
}

/** The first network card of `config.hardware.device` (ArrayOfVirtualDevice), as parsed. */
export function firstNic(devices: XmlValue): XmlValue | undefined {
  return list(obj(devices).VirtualDevice).find((d) => ETHERNET_CARDS.has(typeOf(d) ?? ''));
}

/**
 * A parsed value written back as XML, in the order it was read (vCenter checks element order).
 * The parser folds `xsi:type` and a reference's `type` into one attribute: a leaf with only that
 * attribute is a MoRef unless the type is an XML Schema one (`xsd:string`).
 */
export function toNode(name: string, v: XmlValue): XmlNode {
  if (typeof v === 'string' || v === undefined) return el(name, v ?? '');
  const o = obj(v);
  const type = typeof o['@_type'] === 'string' ? o['@_type'] : undefined;
  const children = Object.keys(o).filter((k) => !k.startsWith('@_') && k !== '#text');
  const value = text(v);
  if (type !== undefined && value !== undefined && children.length === 0 && !type.startsWith('xsd:'))
    return el(name, value, { type });
  const attrs = type !== undefined ? { 'xsi:type': type } : undefined;
  if (value !== undefined && children.length === 0) return el(name, value, attrs);
  return el(
    name,
    children.flatMap((k) => list(o[k]).map((c) => toNode(k, c))),
    attrs,
  );
}

/** The deviceChange that moves `nic` (the template's card) to `backing`. */
export function nicEdit(nic: XmlValue, backing: XmlNode): XmlNode {
  const device = toNode('device', nic);
  const children = (device.children as XmlNode[]).map((c) => (c.name === 'backing' ? backing : c));
  return el('deviceChange', [el('operation', 'edit'), { ...device, children }]);
}

/**
 * What `network` (found at `path`) is, read from vCenter: a Network's name, or a port group's key
 * and its switch's uuid. Anything else (a switch, an NSX opaque network, a folder) is refused.
 */
export async function networkBacking(client: VsphereClient, ref: MoRef, path: string): Promise<NetworkBacking> {
  if (ref.type === 'Network') {
    const name = text((await client.properties(ref, ['name'])).get('name'));
    if (name === undefined) throw new VsphereSetupError(`using.network: '${path}' has no name`);
    return { kind: 'network', name, ref };
  }
  if (ref.type === 'DistributedVirtualPortgroup') {
    const pg = await client.properties(ref, ['key', 'config.distributedVirtualSwitch']);
    const portgroupKey = text(pg.get('key'));
    const dvs = moRef(pg.get('config.distributedVirtualSwitch'));
    const switchUuid = dvs ? text((await client.properties(dvs, ['uuid'])).get('uuid')) : undefined;
    if (portgroupKey === undefined || switchUuid === undefined)
      throw new VsphereSetupError(`using.network: port group '${path}' has no key or distributed switch`);
    return { kind: 'portgroup', portgroupKey, switchUuid };
  }
  throw new VsphereSetupError(
    `using.network: '${path}' is a ${ref.type}, not a network or distributed port group (NSX networks are not supported)`,
  );
}

/** The clone's deviceChange putting the template's first card on `ref`. */
export async function networkChange(
  client: VsphereClient,
  template: MoRef,
  ref: MoRef,
  path: string,
): Promise<XmlNode> {
  const backing = backingNode(await networkBacking(client, ref, path));
  const nic = firstNic((await client.properties(template, ['config.hardware.device'])).get('config.hardware.device'));
  if (nic === undefined) throw new VsphereSetupError(`using.network: the template has no network card to connect`);
  return nicEdit(nic, backing);
}
