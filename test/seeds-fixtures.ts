import { gunzipSync } from 'node:zlib';
import type { AgentConfig } from '../shared/wire/agent-config.ts';

/**
 * The agent config an EC2 launch's user data carries (gzip, base64, in the script's
 * POOLPARTY_CONFIG_EOF heredoc), from the RunInstances parameter as the wire-level server recorded
 * it (base64 of the script).
 */
export function userDataConfig(userDataB64: unknown): AgentConfig {
  const script = Buffer.from(String(userDataB64), 'base64').toString('utf8');
  const m = /<<'POOLPARTY_CONFIG_EOF'\n([\s\S]*?)\nPOOLPARTY_CONFIG_EOF/.exec(script);
  if (!m?.[1]) throw new Error('no agent config in user data');
  return JSON.parse(gunzipSync(Buffer.from(m[1].replaceAll('\n', ''), 'base64')).toString('utf8')) as AgentConfig;
}
