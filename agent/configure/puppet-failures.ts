/**
 * Which resources a puppet run failed, read from its log. Puppet reports each failed resource on
 * an `Error:` line that starts with the resource's path in the catalog, e.g.
 * `Error: /Stage[main]/Main/Exec[will-fail]/returns: change from 'notrun' to ['0'] failed: …`;
 * its other `Error:` lines (facter, the command's own message) name no resource and are skipped.
 * Resources skipped because a dependency failed are not failures of their own and are not named.
 */

/** At most this many resources are named; the rest are counted, so the error stays one line. */
const MAX_NAMED = 3;

/** The `Type[title]` of the resource an `Error: /Stage[…]/…` line is about, or undefined. */
export function failedResource(line: string): string | undefined {
  const m = /^Error: (\/Stage\[[^\]]*\]\/\S.*?): /.exec(line);
  if (!m?.[1]) return undefined;
  const path = m[1];
  // The resource is the last `Type[` segment (a defined type's own resources come after it);
  // its title may itself hold '/' (file paths), so it runs to the last ']'.
  let start = -1;
  for (const seg of path.matchAll(/\/([A-Z][\w:]*)\[/g)) start = seg.index + 1;
  const end = path.lastIndexOf(']');
  return start >= 0 && end > start ? path.slice(start, end + 1) : undefined;
}

/** Collects the failed resources of one run, each once, in the order puppet reported them. */
export class PuppetFailures {
  readonly #seen = new Set<string>();

  read(line: string): void {
    const resource = failedResource(line);
    if (resource) this.#seen.add(resource);
  }

  /** ': Exec[a], File[/b] failed' (with '+ N more' past MAX_NAMED), or '' when none was named. */
  describe(): string {
    const all = [...this.#seen];
    if (all.length === 0) return '';
    const more = all.length > MAX_NAMED ? ` + ${all.length - MAX_NAMED} more` : '';
    return `: ${all.slice(0, MAX_NAMED).join(', ')}${more} failed`;
  }
}
