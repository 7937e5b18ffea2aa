import { readFile } from 'node:fs/promises';
import { type AgentConfig, agentConfigSchema } from '../shared/wire/agent-config.ts';

// The schema, with every field's meaning, unit and default, is shared/wire/agent-config.ts: the
// CLI writes what this reads. This module is what the agent loads lazily to parse it once.

export class AgentConfigError extends Error {
  override name = 'AgentConfigError';
}

/** Validates an agent config object; the error names the first bad field in one line. */
export function parseAgentConfig(value: unknown, source = 'agent config'): AgentConfig {
  const r = agentConfigSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.join('.') || '(root)';
    throw new AgentConfigError(`${source}: ${path}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

export async function readAgentConfig(file: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AgentConfigError(
      `cannot read agent config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AgentConfigError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return parseAgentConfig(value, file);
}
