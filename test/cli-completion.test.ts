import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../cli/command-table.ts';

/**
 * `poolparty completion` (built CLI): the bash script parses (`bash -n`) and completes, run in a
 * real bash with the COMP_* variables bash sets; fish's script is loaded into a real fish and
 * asked with `complete -C`; zsh's is parsed by zsh and its function run in a real zsh with the
 * completion system's entry points (_describe, compadd, _files) recording what they are offered
 * (compsys itself needs a terminal). zsh and fish are installed by .ci/run; without them those
 * runs are skipped and the script texts are still checked.
 */

const CLI = resolve('bin/poolparty.mjs');
let dir: string;
const scripts: Record<string, string> = {};

function cli(...args: string[]) {
  const res = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-completion-'));
  for (const shell of ['bash', 'zsh', 'fish']) {
    const res = cli('completion', shell);
    expect(res.code, res.stderr).toBe(0);
    scripts[shell] = res.stdout;
  }
  await writeFile(join(dir, 'script.bash'), scripts.bash ?? '');
  await writeFile(join(dir, 'script.zsh'), scripts.zsh ?? '');
  await writeFile(join(dir, 'script.fish'), scripts.fish ?? '');
  await writeFile(join(dir, 'clouds.ts'), '');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What the bash completion offers for the words typed so far (the last one being completed). */
function complete(...typed: string[]): string[] {
  const words = ['poolparty', ...typed].map((w) => `'${w}'`).join(' ');
  const program = `source script.bash; COMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _poolparty; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const res = spawnSync('bash', ['--norc', '-c', program], { cwd: dir, encoding: 'utf8' });
  expect(res.status, res.stderr).toBe(0);
  return res.stdout.split('\n').filter(Boolean);
}

const has = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0;

/** What fish offers for the command line typed so far (its own `complete -C`). */
function fishComplete(line: string): string[] {
  const res = spawnSync('fish', ['--no-config', '-c', `source script.fish; complete -C ${JSON.stringify(line)}`], {
    cwd: dir,
    encoding: 'utf8',
  });
  expect(res.status, res.stderr).toBe(0);
  return res.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t')[0] as string);
}

/**
 * What the zsh function hands the completion system for the words typed so far (compadd, before
 * zsh's own prefix filtering): commands from _describe, options from compadd, `<files>` for _files.
 */
function zshComplete(line: string): string[] {
  const program = [
    'compdef() { : }',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: zsh parameter expansion, not a JS template
    '_describe() { local -a items; items=("${(@P)2}"); print -rl -- "${items[@]%%:*}" }',
    'compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@" }',
    "_files() { print -r -- '<files>' }",
    'source script.zsh',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: zsh parameter expansion, not a JS template
    'words=("${(@z)LINE}"); [[ $LINE == *" " ]] && words+=(""); CURRENT=$#words',
    '_poolparty',
  ].join('\n');
  const res = spawnSync('zsh', ['-f', '-c', program], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, LINE: line },
  });
  expect(res.status, res.stderr).toBe(0);
  return res.stdout.split('\n').filter(Boolean);
}

describe('poolparty completion', () => {
  it('bash: the script parses and lists every command', () => {
    const res = spawnSync('bash', ['-n', join(dir, 'script.bash')], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(complete('')).toEqual([...COMMANDS.map((c) => c.name), '--help', '--version']);
  });

  it("bash: completes a command's flags, its operands, and file values", () => {
    expect(complete('pl')).toEqual(['plan']);
    expect(complete('plan', 't')).toEqual(['terminate']);
    expect(complete('terminate', '--y')).toEqual(['--yes']);
    expect(complete('validate', '-c', 'clo')).toEqual(['clouds.ts']);
    expect(complete('completion', '')).toEqual(['bash', 'zsh', 'fish', '--json', '--help', '-h']);
  });

  it('zsh and fish name every command and each of its flags', () => {
    for (const cmd of COMMANDS) {
      expect(scripts.zsh).toContain(`'${cmd.name}:`);
      expect(scripts.zsh).toMatch(new RegExp(`\\n    ${cmd.name}\\) opts=\\(`));
      expect(scripts.fish).toContain(`-n __fish_use_subcommand -a ${cmd.name} -d `);
      for (const flag of Object.keys(cmd.options)) {
        expect(scripts.fish).toContain(`-n '__fish_seen_subcommand_from ${cmd.name}' -l ${flag}`);
      }
    }
    expect(scripts.fish).toContain("-l config -s c -r -F -d 'pool definition");
  });

  it.skipIf(!has('fish'))('fish: the script loads in fish and completes commands, flags and operands', () => {
    expect(fishComplete('poolparty pl')).toEqual(['plan']);
    expect(fishComplete('poolparty terminate --y')).toEqual(['--yes']);
    expect(fishComplete('poolparty completion ').sort()).toEqual(['bash', 'fish', 'zsh']);
    expect(fishComplete('poolparty ').sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  it.skipIf(!has('zsh'))('zsh: the script parses, and its function offers commands, flags and files', () => {
    const parsed = spawnSync('zsh', ['-n', join(dir, 'script.zsh')], { encoding: 'utf8' });
    expect(parsed.status, parsed.stderr).toBe(0);
    expect(zshComplete('poolparty ')).toEqual(COMMANDS.map((c) => c.name));
    expect(zshComplete('poolparty terminate --y')).toContain('--yes');
    expect(zshComplete('poolparty terminate --y')).not.toContain('--drive');
    expect(zshComplete('poolparty validate -c ')).toEqual(['<files>']);
    expect(zshComplete('poolparty completion ')).toEqual(['bash', 'zsh', 'fish', '--json', '--help', '-h']);
  });

  it('refuses an unknown shell with exit 2', () => {
    const res = cli('completion', 'tcsh');
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('poolparty: completion: name a shell: bash, zsh, fish\n');
  });
});
