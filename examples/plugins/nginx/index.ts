import { fileURLToPath } from 'node:url';
// A published plugin imports these from 'poolparty'; inside this repository the path is relative.
import { definePlugin, directory, link, pkg, service, template } from '../../../shared/resources/index.ts';

/**
 * An example plugin: nginx serving one page. Installs nginx, renders the page and a site
 * config, enables the site and restarts nginx whenever the config or the link changes, and
 * verifies the page is served.
 *
 *   import { nginx } from './plugins/nginx/index.ts';
 *   clouds: { web: { …, resources: [nginx({ port: 8080, message: 'hello' })], resolver: ['chef-solo', 'itamae'] } }
 */

export interface NginxOptions {
  /** Port nginx listens on. Default 80. */
  port?: number;
  /** Document root. Default '/var/www/poolparty'. */
  root?: string;
  title?: string;
  message: string;
  /** nginx's configuration directory. Default '/etc/nginx'. */
  confDir?: string;
}

const SITE = `# Managed by PoolParty (nginx plugin).
server {
  listen {{ port }};
  root {{ root }};
  index index.html;
  location / {
    try_files $uri $uri/ =404;
  }
}
`;

export const nginx = definePlugin({
  name: 'nginx',
  build: (o: NginxOptions) => {
    const port = o.port ?? 80;
    const root = o.root ?? '/var/www/poolparty';
    const confDir = o.confDir ?? '/etc/nginx';
    const available = `${confDir}/sites-available/poolparty`;
    const nginxPackage = pkg('nginx');
    const nginxService = service('nginx', { enable: true, action: 'start', requires: [nginxPackage] });
    return {
      resources: [
        nginxPackage,
        directory(root, { mode: '0755', recursive: true }),
        template(`${root}/index.html`, {
          source: fileURLToPath(new URL('./page.html.tmpl', import.meta.url)),
          variables: { title: o.title ?? 'PoolParty', message: o.message },
          mode: '0644',
        }),
        template(available, {
          inline: SITE,
          variables: { port, root },
          requires: [nginxPackage],
          notifies: [nginxService],
        }),
        link(`${confDir}/sites-enabled/poolparty`, { to: available, notifies: [nginxService] }),
        nginxService,
      ],
      verifiers: [{ name: 'nginx serves the page', http: `http://127.0.0.1:${port}/`, body: o.message }],
    };
  },
});
