import type { ComponentLogger, Logger } from '@libp2p/interface';

const silent: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: (): Logger => silent,
});

/**
 * libp2p's logger for the agent: one shared silent logger unless `DEBUG` asks for logs. libp2p
 * builds a named `debug` instance for every connection, stream and protocol negotiation (each one
 * asking `isatty` and formatting a name) even when nothing is printed: 5 % of a host's CPU while
 * 50 agents joined at once (2.7 % creating loggers, 2.4 % in `isatty`). With `DEBUG` set,
 * `undefined` keeps libp2p's default, so `DEBUG=libp2p:*` still works when diagnosing.
 */
export function libp2pLogger(env: NodeJS.ProcessEnv = process.env): ComponentLogger | undefined {
  if (env.DEBUG) return undefined;
  return { forComponent: () => silent };
}
