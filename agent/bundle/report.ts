import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import type { ConfigureReport } from '../configure/configure.ts';

/** What a heartbeat says about the last apply: compact, the details are in GET /bundle. */
export function reportFields(r: ConfigureReport): NonNullable<Heartbeat['bundleReport']> {
  const failed = r.verifiers.filter((v) => !v.ok).map((v) => v.name);
  return {
    ok: r.ok,
    resolver: r.resolver,
    durationMs: Math.round(r.durationMs),
    verifiers: { passed: r.verifiers.length - failed.length, failed },
  };
}

/** The last apply as GET /bundle shows it. */
export function summarize(r: ConfigureReport) {
  return {
    ok: r.ok,
    stage: r.stage,
    resolver: r.resolver,
    durationMs: r.durationMs,
    verifiers: r.verifiers,
    ...(r.error ? { error: r.error } : {}),
  };
}
