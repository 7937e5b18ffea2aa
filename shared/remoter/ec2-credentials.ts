/**
 * Detects AWS credentials in text that is about to leave the laptop in the clear: user data,
 * tags, the agent config. Nodes get their AWS access from an instance profile; a key found in
 * any of these is a mistake to stop, never to pass on. Returns what was found (never the secret
 * itself, so the message can be logged).
 */

const PATTERNS: [RegExp, string][] = [
  // Access key ids: AKIA (long-term) and ASIA (temporary), 16 more upper-case alphanumerics.
  [/(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/, 'an AWS access key id (AKIA…/ASIA…)'],
  [/aws_secret_access_key/i, 'aws_secret_access_key'],
  [/aws_session_token/i, 'aws_session_token'],
  [/aws_access_key_id/i, 'aws_access_key_id'],
  [/aws_security_token/i, 'aws_security_token'],
];

export function findCredential(text: string): string | undefined {
  for (const [re, what] of PATTERNS) if (re.test(text)) return what;
  return undefined;
}

/** The first credential found anywhere in a JSON-like value, with the path where it was found. */
export function findCredentialIn(value: unknown, path = ''): { path: string; what: string } | undefined {
  if (typeof value === 'string') {
    const what = findCredential(value);
    return what === undefined ? undefined : { path, what };
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const hit = findCredentialIn(v, `${path}[${i}]`);
      if (hit) return hit;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const sub = path === '' ? k : `${path}.${k}`;
      const hit = findCredential(k) ? { path: sub, what: findCredential(k) as string } : findCredentialIn(v, sub);
      if (hit) return hit;
    }
  }
  return undefined;
}
