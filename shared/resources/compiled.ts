import type { NotifyTiming } from './types.ts';

/** What compile.ts produces and both the Chef and the Puppet generator consume. */

/** The kinds the generators know; templates and crons have become files. */
export type CompiledKind = 'file' | 'directory' | 'link' | 'package' | 'service' | 'exec' | 'user' | 'group';

export interface Target {
  kind: CompiledKind;
  /** Path for file/directory/link, name otherwise. */
  name: string;
}

export interface CompiledBase extends Target {
  /** The ref as the user wrote it, e.g. 'template[/etc/site]' (for comments and messages). */
  ref: string;
  requires: Target[];
  notifies: { target: Target; action: 'restart' | 'run'; timing: NotifyTiming }[];
}

export type CompiledResource =
  | (CompiledBase & { kind: 'file'; content?: Buffer; mode: string; owner?: string; group?: string })
  | (CompiledBase & { kind: 'directory'; mode: string; owner?: string; group?: string })
  | (CompiledBase & { kind: 'link'; to: string })
  | (CompiledBase & { kind: 'package'; version?: string; action: 'install' | 'remove' })
  | (CompiledBase & { kind: 'service'; enable?: boolean; action?: 'start' | 'stop' | 'restart' })
  | (CompiledBase & {
      kind: 'exec';
      /** Environment already folded in (see withEnv), identical for every resolver. */
      command: string;
      cwd?: string;
      user?: string;
      creates?: string;
      onlyIf?: string;
      notIf?: string;
      refreshOnly: boolean;
    })
  | (CompiledBase & { kind: 'user'; uid?: number; gid?: string | number; home?: string; shell?: string })
  | (CompiledBase & { kind: 'group'; gid?: number });

export const DEFAULT_FILE_MODE = '0644';
export const DEFAULT_DIRECTORY_MODE = '0755';
export const DEFAULT_CRON_DIR = '/etc/cron.d';
