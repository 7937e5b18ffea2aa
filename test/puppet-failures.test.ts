import { describe, expect, it } from 'vitest';
import { failedResource, PuppetFailures } from '../agent/configure/puppet-failures.ts';

describe("reading the failed resources from puppet's log", () => {
  it('names the resource of a /Stage[…] error line, whatever its title holds', () => {
    expect(
      failedResource(
        "Error: /Stage[main]/Main/Exec[will-fail]/returns: change from 'notrun' to ['0'] failed: 'exit 3' returned 3",
      ),
    ).toBe('Exec[will-fail]');
    expect(
      failedResource("Error: /Stage[main]/Main/File[/srv/a b/x]/ensure: change from 'absent' to 'file' failed: nope"),
    ).toBe('File[/srv/a b/x]');
    // A resource of a defined type: the innermost resource is the one that failed.
    expect(failedResource('Error: /Stage[main]/Main/Site::Vhost[x]/Exec[reload]: Could not evaluate: boom')).toBe(
      'Exec[reload]',
    );
  });

  it('skips error lines about no resource, and skipped dependents', () => {
    for (const line of [
      'Error: Facter: Permission denied @ rb_sysopen - /proc/1/environ',
      "Error: 'exit 3' returned 3 instead of one of [0]",
      'Warning: /Stage[main]/Main/File[/after]: Skipping because of failed dependencies',
      'Notice: /Stage[main]/Main/File[/after]: Dependency Exec[will-fail] has failures: true',
    ])
      expect(failedResource(line), line).toBeUndefined();
  });

  it('names each failed resource once, and counts past three', () => {
    const failures = new PuppetFailures();
    expect(failures.describe()).toBe('');
    for (const t of ['a', 'b', 'a', 'c', 'd', 'e'])
      failures.read(`Error: /Stage[main]/Main/Exec[${t}]/returns: change from 'notrun' to ['0'] failed: x`);
    expect(failures.describe()).toBe(': Exec[a], Exec[b], Exec[c] + 2 more failed');
  });
});
