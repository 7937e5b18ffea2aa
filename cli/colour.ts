/**
 * Colour for what a person reads on a terminal, and nothing else: no escape code when the stream
 * is not a TTY (a pipe, a file, a CI log) or when NO_COLOR is set (https://no-color.org), and none
 * where the terminal says it has no colours (TERM=dumb; Node's hasColors also reads FORCE_COLOR).
 */
export interface Paint {
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

/** The part of a tty.WriteStream this needs; a plain stream has neither member. */
export interface ColourStream {
  isTTY?: boolean;
  hasColors?: (count?: number, env?: object) => boolean;
}

export function colourWanted(stream: ColourStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (stream.isTTY !== true) return false;
  return stream.hasColors?.(16, env) ?? false;
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;

const COLOURS: Paint = { dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39) };
const PLAIN: Paint = { dim: (t) => t, red: (t) => t, green: (t) => t, yellow: (t) => t };

export function paint(on: boolean): Paint {
  return on ? COLOURS : PLAIN;
}
