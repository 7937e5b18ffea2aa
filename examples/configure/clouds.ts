/**
 * Configuration: a pool whose machines describe themselves in resources. Try it without applying
 * anything:
 *
 *   npx poolparty compile -c examples/configure/clouds.ts --cloud files   # prints the sha256 and a summary
 *   npx poolparty show -c examples/configure/clouds.ts --cloud files --recipe
 *   npx poolparty show -c examples/configure/clouds.ts --cloud web --manifest
 *
 * `files` only touches /tmp/poolparty-example/ (no root needed), applied by itamae, else puppet.
 * `web` adds the example nginx plugin: compiling it needs no nginx, but applying it installs the
 * nginx package, so it needs root and stays at min 0 (raise min and bootstrap it on a scratch
 * machine).
 */
import { definePool, directory, exec, file, local, template } from 'poolparty';
import { nginx } from '../plugins/nginx/index.ts';

const ROOT = '/tmp/poolparty-example';

const root = directory(ROOT, { mode: '0755' });
const conf = directory(`${ROOT}/conf`, { mode: '0750', requires: [root] });
const settings = file(`${ROOT}/conf/settings.ini`, {
  content: '[queue]\nworkers = 4\n',
  mode: '0640',
  requires: [conf],
});
// Runs once per node: `creates` makes it idempotent (skipped while the stamp exists).
const initialise = exec('initialise', {
  command: `echo initialised > ${ROOT}/initialised`,
  creates: `${ROOT}/initialised`,
  requires: [settings],
});
// A relative template source is relative to this file; the variables are filled at compile time.
const banner = template(`${ROOT}/banner.txt`, {
  source: 'banner.txt.tmpl',
  variables: { greeting: 'Hello', pool: 'configured' },
  mode: '0644',
  requires: [root],
});

export default definePool({
  name: 'configured',
  clouds: {
    files: {
      instances: { min: 2, max: 3 },
      using: local({ firstAddress: '127.0.0.30' }),
      resources: [root, conf, settings, initialise, banner],
      // The first resolver whose tool is installed applies the bundle (Debian: itamae, puppet).
      resolver: ['itamae', 'puppet'],
      // Checked after every apply; a failure stops a rolling update.
      verifiers: [
        { name: 'banner rendered', command: `grep -q 'Hello from pool configured' ${ROOT}/banner.txt`, retries: 2 },
      ],
      hooks: { afterConfigure: `echo "applied $(date -u +%FT%TZ)" >> ${ROOT}/applied.log` },
    },
    web: {
      instances: { min: 0, max: 1 },
      using: local({ firstAddress: '127.0.0.40' }),
      resources: [nginx({ port: 8080, message: 'Hello from a PoolParty node' })],
      resolver: ['itamae', 'puppet'],
    },
  },
});
