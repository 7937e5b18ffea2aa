import { VsphereConnectionError } from './vsphere-errors.ts';
import {
  el,
  list,
  type MoRef,
  moRef,
  obj,
  stringValue,
  text,
  typeOf,
  type XmlNode,
  type XmlValue,
} from './vsphere-xml.ts';

/** vim25 data objects the client sends and reads: OptionValue lists, ObjectContent, fault types. */

export interface ObjectContent {
  obj: MoRef;
  /** Property path → its raw parsed value. */
  props: Map<string, XmlValue>;
}

export function extraConfigNodes(values: Record<string, string>): XmlNode[] {
  return Object.entries(values).map(([k, v]) => el('extraConfig', [el('key', k), stringValue('value', v)]));
}

export function objectContent(v: XmlValue): ObjectContent {
  const o = obj(v);
  const ref = moRef(o.obj);
  if (!ref) throw new VsphereConnectionError('vSphere listed an object without a reference');
  const props = new Map<string, XmlValue>();
  for (const p of list(o.propSet)) {
    const name = text(obj(p).name);
    if (name) props.set(name, obj(p).val);
  }
  return { obj: ref, props };
}

/** A LocalizedMethodFault's type: its `xsi:type`, e.g. DuplicateName. */
export function faultName(fault: XmlValue): string {
  return typeOf(fault) ?? 'SystemError';
}

/** `config.extraConfig` (ArrayOfOptionValue) as a plain record. */
export function optionValues(v: XmlValue): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of list(obj(v).OptionValue)) {
    const key = text(obj(o).key);
    if (key !== undefined) out[key] = text(obj(o).value) ?? '';
  }
  return out;
}

/**
 * The simulator answers an unauthenticated property read with the session fault per property
 * (vCenter faults the whole call): either way the session is gone.
 */
export function sessionLost(returnval: XmlValue): boolean {
  return list(obj(returnval).objects).some((o) =>
    list(obj(o).missingSet).some((m) => typeOf(obj(obj(m).fault).fault) === 'NotAuthenticated'),
  );
}
