import type { OptionSpec } from './command.ts';

/**
 * Options several commands share. Here, apart from the handlers, so the command table (and with
 * it --help) loads without a handler's dependencies.
 */

/** Options of every command that works on a pool definition. */
export const POOL_OPTIONS: Record<string, OptionSpec> = {
  config: {
    type: 'string',
    short: 'c',
    placeholder: 'FILE',
    description: 'pool definition (.ts, .js or .json); default $POOLPARTY_CONFIG, else ./clouds.ts',
  },
  cloud: { type: 'string', placeholder: 'NAME', description: 'the cloud to act on (default: the only one)' },
  'state-dir': {
    type: 'string',
    placeholder: 'DIR',
    description: 'pool state (key, instances); default $POOLPARTY_STATE_DIR or ~/.poolparty/<pool>',
  },
};

/** For commands that connect to ssh hosts (bootstrap, terminate). */
export const SSH_OPTIONS: Record<string, OptionSpec> = {
  'accept-new-host-key': {
    type: 'boolean',
    description: "ssh clouds: replace a host's recorded key that changed (only for a machine you replaced)",
  },
};

/** bootstrap's and demo's --timeout. */
export const BOOTSTRAP_TIMEOUT_OPTION: OptionSpec = {
  type: 'string',
  placeholder: 'DURATION',
  description:
    'give up waiting for the nodes to see each other after this long without progress (default 60s; 10x in all)',
};
