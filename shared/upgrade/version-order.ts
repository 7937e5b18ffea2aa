/**
 * The order of agent versions (semver precedence: `major.minor.patch`, then the pre-release, a
 * build's `+…` ignored), as a leader needs it to tell a member that runs an older install from one
 * that runs a newer one: the first is brought to what the pool runs, the second is left alone.
 */

const SEMVER = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Negative when `a` comes before `b`, 0 when equal, positive after; null when either is no version. */
export function compareVersions(a: string, b: string): number | null {
  const x = SEMVER.exec(a);
  const y = SEMVER.exec(b);
  if (!x || !y) return null;
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return Math.sign(d);
  }
  return comparePre(x[4], y[4]);
}

/** A release comes after its pre-releases; identifiers compare numerically when both are numbers. */
function comparePre(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  const p = a.split('.');
  const q = b.split('.');
  for (let i = 0; i < Math.min(p.length, q.length); i++) {
    const [u, v] = [p[i] as string, q[i] as string];
    if (u === v) continue;
    const [m, n] = [/^\d+$/.test(u), /^\d+$/.test(v)];
    if (m && n) return Math.sign(Number(u) - Number(v));
    if (m !== n) return m ? -1 : 1;
    return u < v ? -1 : 1;
  }
  return Math.sign(p.length - q.length);
}

/**
 * Whether `version` is not newer than `target`: the same string, or both versions and `version`
 * not after `target`. A string that is not a version (and not the same) is not comparable: false,
 * so such a member is left alone.
 */
export function notNewer(version: string, target: string): boolean {
  if (version === target) return true;
  const c = compareVersions(version, target);
  return c !== null && c <= 0;
}
