import '../shared/polyfill.ts';
import { run } from './app.ts';

// The AWS SDK warns on every run under Node < 22 about its releases of 2027; the SDK is pinned
// (package.json) and the warning is nothing a user of this CLI can act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const io = {
  out: (text: string) => process.stdout.write(`${text}\n`),
  progress: (text: string) => process.stderr.write(`${text}\n`),
  stdin: process.stdin,
};

run(process.argv.slice(2), io).then(
  (code) => {
    // Exit now: idle HTTP keep-alive sockets must not hold the CLI open. stdout/stderr are
    // synchronous for files and pipes on Linux, so nothing written is lost.
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`poolparty: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
