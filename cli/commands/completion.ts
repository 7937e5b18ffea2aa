import type { CommandHandler, CommandSpec } from '../command.ts';
import { UsageError } from '../command.ts';
import { completionScript, SHELLS, type Shell } from '../completion-scripts.ts';
import { PLAN_COMMANDS } from '../plan-steps.ts';

/**
 * `poolparty completion bash|zsh|fish`: the script on stdout. The table hands itself in
 * (cli/command-table.ts), so this module does not import the table that imports it.
 */
export function completionCommand(commands: readonly CommandSpec[]): CommandHandler {
  return async ({ positionals }) => {
    const shell = positionals[0] as Shell | undefined;
    if (shell === undefined || !SHELLS.includes(shell)) {
      throw new UsageError(`completion: name a shell: ${SHELLS.join(', ')}`);
    }
    const script = completionScript(shell, { commands, operands: { plan: PLAN_COMMANDS, completion: SHELLS } });
    return { data: { shell, script }, text: script.trimEnd() };
  };
}
