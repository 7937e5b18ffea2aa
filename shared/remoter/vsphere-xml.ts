import { XMLParser } from 'fast-xml-parser';

/**
 * The XML of vSphere's vim25 SOAP API: request envelopes built from typed nodes (element order
 * matters to vCenter, so children are an ordered list, never an object), and answers parsed by
 * fast-xml-parser into plain objects with the namespace prefixes dropped (`xsi:type` → `@_type`).
 * Leaf values stay strings: a moref value 'vm-42' or a key '0042' must not turn into numbers.
 */

export interface MoRef {
  type: string;
  value: string;
}

/** An element: name, children (or a text value) and attributes. Undefined children are skipped. */
export interface XmlNode {
  name: string;
  attrs?: Record<string, string>;
  children?: (XmlNode | undefined)[] | string;
}

export function el(name: string, children?: XmlNode['children'], attrs?: Record<string, string>): XmlNode {
  return { name, ...(children !== undefined ? { children } : {}), ...(attrs ? { attrs } : {}) };
}

/** A managed object reference as an element `<name type="T">value</name>`. */
export function moEl(name: string, ref: MoRef): XmlNode {
  return el(name, ref.value, { type: ref.type });
}

/** A value of an `xsd:anyType` field (OptionValue.value): typed as a string. */
export function stringValue(name: string, value: string): XmlNode {
  return el(name, value, { 'xsi:type': 'xsd:string' });
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function render(node: XmlNode): string {
  const attrs = Object.entries(node.attrs ?? {})
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  const inner =
    typeof node.children === 'string'
      ? escapeXml(node.children)
      : (node.children ?? []).map((c) => (c ? render(c) : '')).join('');
  return `<${node.name}${attrs}>${inner}</${node.name}>`;
}

/** One method call: `<Method xmlns="urn:vim25"><_this type=…>…</_this>…</Method>` in a SOAP envelope. */
export function envelope(method: string, self: MoRef, args: (XmlNode | undefined)[]): string {
  const body = render(el(method, [moEl('_this', self), ...args], { xmlns: 'urn:vim25' }));
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' +
    ' xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
  );
}

// Elements that repeat: parsed as arrays even when one is present, so a page of one VM reads like many.
const REPEATED = new Set(['objects', 'propSet', 'OptionValue', 'ManagedObjectReference', 'missingSet']);

const parser = new XMLParser({
  ignoreAttributes: false,
  removeNSPrefix: true,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  // Go's encoder (vcsim, and vCenter's proxies) writes '"' as &#34;: numeric references must decode.
  htmlEntities: true,
  isArray: (name) => REPEATED.has(name),
});

export type XmlValue = string | XmlObject | XmlValue[] | undefined;
export interface XmlObject {
  [key: string]: XmlValue;
}

export class SoapParseError extends Error {
  override name = 'SoapParseError';
}

/** The Body of a SOAP answer; a body that is not a SOAP envelope throws SoapParseError. */
export function parseBody(xml: string): XmlObject {
  let doc: XmlObject;
  try {
    doc = parser.parse(xml) as XmlObject;
  } catch (err) {
    throw new SoapParseError(`vSphere answered malformed XML: ${(err as Error).message}`);
  }
  const body = obj(obj(doc.Envelope).Body);
  if (Object.keys(body).length === 0)
    throw new SoapParseError('vSphere answered something that is not a SOAP envelope');
  return body;
}

export function obj(v: XmlValue): XmlObject {
  return v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

export function list(v: XmlValue): XmlValue[] {
  if (v === undefined || v === '') return [];
  return Array.isArray(v) ? v : [v];
}

/** The text of an element, with or without attributes. */
export function text(v: XmlValue): string | undefined {
  if (typeof v === 'string') return v;
  const t = obj(v)['#text'];
  return typeof t === 'string' ? t : undefined;
}

/** The `xsi:type` of an element (a fault's or a property value's concrete type). */
export function typeOf(v: XmlValue): string | undefined {
  const t = obj(v)['@_type'];
  return typeof t === 'string' ? t.replace(/^.*:/, '') : undefined;
}

export function moRef(v: XmlValue): MoRef | undefined {
  const value = text(v);
  const type = obj(v)['@_type'];
  return value && typeof type === 'string' ? { type, value } : undefined;
}
