/**
 * Tiny XML builder for EC2 responses. A node is [name, children | text]; undefined children are
 * skipped so optional elements (ipAddress before an instance runs) simply do not appear, as on EC2.
 */

export type XmlNode = [string, XmlContent];
export type XmlContent = string | number | boolean | (XmlNode | undefined)[];

export const EC2_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);
}

export function render(node: XmlNode): string {
  const [name, content] = node;
  if (Array.isArray(content)) {
    const inner = content
      .filter((c): c is XmlNode => c !== undefined)
      .map(render)
      .join('');
    return inner === '' ? `<${name}/>` : `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(String(content))}</${name}>`;
}

/** A successful response: `<ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>`. */
export function responseDocument(action: string, requestId: string, body: (XmlNode | undefined)[]): string {
  const inner = [['requestId', requestId] as XmlNode, ...body].filter((c): c is XmlNode => c !== undefined);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NAMESPACE}">${inner.map(render).join('')}</${action}Response>`;
}

/** EC2's error envelope (note: RequestID, capitalised, outside Errors). */
export function errorDocument(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${escapeXml(requestId)}</RequestID></Response>`;
}

/** EC2 lists: a wrapper element holding one `<item>` per entry. */
export function items(name: string, entries: XmlContent[]): XmlNode {
  return [name, entries.map((e): XmlNode => ['item', e])];
}
