import { describe, expect, it } from 'vitest';
import { chefRecipe } from '../shared/bundle/chef.ts';
import type { CompiledResource } from '../shared/resources/compiled.ts';

/** Each kind's block in the generated recipe: which attributes it writes, in which order, and its action. */

const base = { requires: [], notifies: [] };

function block(r: CompiledResource): string[] {
  const text = chefRecipe([r]);
  return text
    .slice(text.indexOf('\n\n') + 2)
    .trimEnd()
    .split('\n');
}

describe('chef recipe blocks', () => {
  it.each<[string, CompiledResource, string[]]>([
    [
      'a directory: ownership, create',
      { ...base, kind: 'directory', name: '/srv/app', ref: 'directory[/srv/app]', mode: '0755', owner: 'app' },
      ["directory '/srv/app' do", "  mode '0755'", "  owner 'app'", '  action :create', 'end'],
    ],
    [
      'a link: its target, create',
      { ...base, kind: 'link', name: '/srv/current', ref: 'link[/srv/current]', to: '/srv/app' },
      ["link '/srv/current' do", "  to '/srv/app'", '  action :create', 'end'],
    ],
    [
      'a package: its version and its own action',
      { ...base, kind: 'package', name: 'vim', ref: 'package[vim]', version: '9.1', action: 'remove' },
      ["package 'vim' do", "  version '9.1'", '  action :remove', 'end'],
    ],
    [
      'a service: enable and action together',
      { ...base, kind: 'service', name: 'nginx', ref: 'service[nginx]', enable: false, action: 'restart' },
      ["service 'nginx' do", '  action [:disable, :restart]', 'end'],
    ],
    [
      'a service with neither: nothing',
      { ...base, kind: 'service', name: 'idle', ref: 'service[idle]' },
      ["service 'idle' do", '  action :nothing', 'end'],
    ],
    [
      'an exec: creates becomes a not_if, refresh-only runs on notification',
      {
        ...base,
        kind: 'exec',
        name: 'migrate',
        ref: 'exec[migrate]',
        command: 'make migrate',
        cwd: '/srv/app',
        onlyIf: 'true',
        creates: '/srv/done',
        refreshOnly: true,
      },
      [
        "execute 'migrate' do",
        "  command 'make migrate'",
        "  cwd '/srv/app'",
        "  only_if 'true'",
        "  not_if 'test -e \\'/srv/done\\''",
        '  action :nothing',
        'end',
      ],
    ],
    [
      'a user: numbers stay numbers',
      { ...base, kind: 'user', name: 'app', ref: 'user[app]', uid: 1000, gid: 'app', shell: '/bin/sh' },
      ["user 'app' do", '  uid 1000', "  gid 'app'", "  shell '/bin/sh'", '  action :create', 'end'],
    ],
    [
      'a group',
      { ...base, kind: 'group', name: 'app', ref: 'group[app]', gid: 1000 },
      ["group 'app' do", '  gid 1000', '  action :create', 'end'],
    ],
  ])('%s', (_name, resource, lines) => {
    expect(block(resource)).toEqual(lines);
  });
});
