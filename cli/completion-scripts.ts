import { COMMON_OPTIONS, type CommandSpec, type OptionSpec } from './command.ts';

/**
 * Shell completion scripts generated from the command table, so a new command or flag completes
 * without anyone editing three shell dialects. Option values that are paths (placeholder FILE or
 * DIR) complete as files; a command's operands (e.g. plan's bootstrap|terminate|configure) come
 * from `operands`.
 */

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export interface CompletionSource {
  commands: readonly CommandSpec[];
  /** Words a command takes as operands, by command name. */
  operands: Readonly<Record<string, readonly string[]>>;
}

const PATH_PLACEHOLDERS = new Set(['FILE', 'DIR']);

function options(cmd: CommandSpec): [string, OptionSpec][] {
  return Object.entries({ ...cmd.options, ...COMMON_OPTIONS });
}

function flags(cmd: CommandSpec): string[] {
  return options(cmd).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
}

/** Flags whose value is a path, across every command (their names mean the same everywhere). */
function pathFlags(commands: readonly CommandSpec[]): string[] {
  const out = new Set<string>();
  for (const cmd of commands) {
    for (const [name, o] of options(cmd)) {
      if (o.type !== 'string' || !PATH_PLACEHOLDERS.has(o.placeholder ?? '')) continue;
      out.add(`--${name}`);
      if (o.short) out.add(`-${o.short}`);
    }
  }
  return [...out].sort();
}

/** Single-quoted for any of the three shells; only summaries need it. */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function completionScript(shell: Shell, src: CompletionSource): string {
  switch (shell) {
    case 'bash':
      return bashScript(src);
    case 'zsh':
      return zshScript(src);
    case 'fish':
      return fishScript(src);
  }
}

function words(cmd: CommandSpec, src: CompletionSource): string {
  return [...(src.operands[cmd.name] ?? []), ...flags(cmd)].join(' ');
}

function bashScript(src: CompletionSource): string {
  const names = src.commands.map((c) => c.name).join(' ');
  const cases = src.commands.map((c) => `    ${c.name}) opts="${words(c, src)}" ;;`);
  return `# poolparty completion for bash: eval "$(poolparty completion bash)" in ~/.bashrc
_poolparty() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names} --help --version" -- "$cur"))
    return
  fi
  case "$prev" in
    ${pathFlags(src.commands).join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _poolparty poolparty
`;
}

function zshScript(src: CompletionSource): string {
  const described = src.commands.map((c) => `    ${quote(`${c.name}:${c.summary.replace(/:/g, '\\:')}`)}`);
  const cases = src.commands.map((c) => `    ${c.name}) opts=(${words(c, src)}) ;;`);
  return `#compdef poolparty
# poolparty completion for zsh: eval "$(poolparty completion zsh)" in ~/.zshrc, after compinit
_poolparty() {
  local -a commands opts
  commands=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "\${words[CURRENT-1]}" in
    ${pathFlags(src.commands).join('|')}) _files; return ;;
  esac
  case "\${words[2]}" in
${cases.join('\n')}
  esac
  compadd -- $opts
}
compdef _poolparty poolparty
`;
}

function fishScript(src: CompletionSource): string {
  const lines = [
    '# poolparty completion for fish: poolparty completion fish > ~/.config/fish/completions/poolparty.fish',
    'complete -c poolparty -f',
  ];
  for (const c of src.commands) {
    lines.push(`complete -c poolparty -n __fish_use_subcommand -a ${c.name} -d ${quote(c.summary)}`);
    const when = `-n '__fish_seen_subcommand_from ${c.name}'`;
    const operands = src.operands[c.name];
    if (operands) lines.push(`complete -c poolparty ${when} -a ${quote(operands.join(' '))}`);
    for (const [name, o] of options(c)) {
      const short = o.short ? ` -s ${o.short}` : '';
      const value = o.type === 'boolean' ? '' : PATH_PLACEHOLDERS.has(o.placeholder ?? '') ? ' -r -F' : ' -x';
      lines.push(`complete -c poolparty ${when} -l ${name}${short}${value} -d ${quote(o.description)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
