import type { RuleWindow } from '../wire/summary-frame.ts';
import { formatRule } from './rule-format.ts';
import { type RuleTimers, ruleOf } from './rule-status.ts';

/**
 * Rule windows across a failover (issue 13). The leader's summary carries, per rule, how long it
 * had held at the leader; a follower keeps the last one; when it begins to act as leader it starts
 * its sustain timers from there instead of from its own view (which lags the leader's by up to a
 * summary interval, max(5 s, N s), and so may not have seen the condition at all). Pure.
 */

export type { RuleWindow } from '../wire/summary-frame.ts';

type Texts = { expandWhen: string | null; contractWhen: string | null };

const KINDS = [
  ['expand', 'expandWhen'],
  ['contract', 'contractWhen'],
] as const;

/** The last summary's windows from the leader this node followed, and when it came (this node's clock). */
export interface LeaderWindows {
  at: number;
  windows: readonly RuleWindow[];
}

/**
 * 8 hex digits of FNV-1a over the rule's canonical text: the same rule however it is spaced, and
 * a window of another rule (a config rolling out) is not taken for this one.
 */
export function ruleFingerprint(text: string): string {
  const rule = ruleOf(text);
  const canonical = rule ? formatRule(rule) : text;
  let h = 0x811c9dc5;
  for (let i = 0; i < canonical.length; i++) {
    h ^= canonical.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * The leader's side: each configured rule's window as of its last evaluation at `steppedAt` (held
 * since then is not claimed: the receiver counts from when the summary came, a little later).
 */
export function ruleWindows(cloud: string, texts: Texts, timers: RuleTimers, steppedAt: number): RuleWindow[] {
  const out: RuleWindow[] = [];
  for (const [rule, key] of KINDS) {
    const text = texts[key];
    if (!text) continue;
    const since = timers[rule];
    const heldMs = since === null ? null : Math.max(0, Math.round(steppedAt - since));
    out.push({ cloud, rule, heldMs, fp: ruleFingerprint(text) });
  }
  return out;
}

/**
 * A new leader's timers: each rule's from its predecessor's last summary when that names the same
 * rule and came at most one window (the rule's sustainMs) ago; else its own. Bounded: never earlier
 * than the summary's arrival minus what it said, never later than `now` (a clock that went back
 * makes the summary count for nothing). A rule the leader said did not hold starts over. The
 * summary is taken only from the leader this node followed, in its term (LoadExchange.onReport);
 * and a timer only counts while the rule holds on this node's own evaluation, so a window can at
 * most be shortened, never make a rule act that does not hold.
 */
export function inheritTimers(
  own: RuleTimers,
  cloud: string,
  texts: Texts,
  last: LeaderWindows | null,
  now: number,
): RuleTimers {
  if (!last || now < last.at) return own;
  const out: RuleTimers = { ...own };
  for (const [rule, key] of KINDS) {
    const parsed = ruleOf(texts[key]);
    if (!parsed || now - last.at > parsed.sustainMs) continue;
    const fp = ruleFingerprint(parsed.text);
    const w = last.windows.find((x) => x.cloud === cloud && x.rule === rule && x.fp === fp);
    if (!w) continue;
    out[rule] = w.heldMs === null ? null : Math.min(now, last.at - w.heldMs);
  }
  return out;
}
