import { parseDuration } from '../duration.ts';

/**
 * Scaling rules: `expandWhen: 'max(cpu) > 90 and queue > 100 for 1m'`. Parsed once at config load
 * so a typo fails the load with a column number instead of silently never scaling.
 *
 *   rule       := or-expr [ 'for' duration ]
 *   or-expr    := and-expr { 'or' and-expr }
 *   and-expr   := primary { 'and' primary }
 *   primary    := '(' or-expr ')' | comparison
 *   comparison := ( metric | agg '(' metric ')' ) op number
 *
 * Keywords and aggregates are case-insensitive; metric names are not (they are config keys).
 */

/**
 * How a metric is combined over the counted members. `permember` is the sum divided by every
 * counted member, reporting or not: a backlog one node reports (a queue depth) becomes the
 * backlog per instance, which is what a target for that queue should track.
 */
export const AGGREGATES = ['avg', 'min', 'max', 'sum', 'p50', 'p90', 'p99', 'permember'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export const COMPARE_OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];

/** One comparison: `agg(metric) op value`, aggregated over the cloud's alive members. */
export interface Comparison {
  readonly kind: 'cmp';
  readonly agg: Aggregate;
  readonly metric: string;
  readonly op: CompareOp;
  readonly value: number;
}

export interface Junction {
  readonly kind: 'and' | 'or';
  readonly left: RuleExpr;
  readonly right: RuleExpr;
}

export type RuleExpr = Comparison | Junction;

export interface Rule {
  /** The text as written in the config, for messages. */
  readonly text: string;
  readonly expr: RuleExpr;
  /** How long the expression must hold continuously; 0 when there is no `for` clause. */
  readonly sustainMs: number;
  /** Metrics the rule reads, each once, in order of first appearance. */
  readonly metrics: string[];
}

/** A rule that does not parse. `position` is the 1-based column of `token` in the rule text. */
export class RuleSyntaxError extends Error {
  override name = 'RuleSyntaxError';
  readonly token: string;
  readonly position: number;

  constructor(message: string, token: string, position: number) {
    super(message);
    this.token = token;
    this.position = position;
  }
}

const KEYWORDS = new Set(['and', 'or', 'for']);
const NUMBER = /^-?\d+(?:\.\d+)?$/;
const DURATION_UNIT = /^(?:ms|s|m|h)$/i;
// Deep enough for any rule a human writes; shallow enough that recursion cannot blow the stack.
const MAX_DEPTH = 32;
const OPS_HINT = 'a comparison operator (>, >=, <, <=, ==, !=)';
const DURATION_HINT = 'e.g. 500ms, 30s, 2m, 1h';

type TokenKind = 'ident' | 'atom' | 'op' | '(' | ')' | 'bad' | 'end';
interface Token {
  kind: TokenKind;
  text: string;
  /** 1-based column. */
  col: number;
}

// `atom` is anything starting with a digit (or a minus and a digit): numbers and durations share
// it, and a malformed one like `0.8x` or `30x` stays one token so the error quotes all of it.
const TOKEN = /\s*(?:(>=|<=|==|!=|>|<)|([()])|([A-Za-z_][A-Za-z0-9_]*)|(-?\s*\d[A-Za-z0-9_.]*)|(\S))/y;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  for (;;) {
    const start = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) break; // only whitespace is left
    const raw = m[0].trimStart();
    const col = start + (m[0].length - raw.length) + 1;
    const kind: TokenKind = m[1] ? 'op' : m[2] ? (m[2] as '(' | ')') : m[3] ? 'ident' : m[4] ? 'atom' : 'bad';
    tokens.push({ kind, text: kind === 'atom' ? raw.replace(/\s+/g, '') : raw, col });
  }
  tokens.push({ kind: 'end', text: '', col: text.length + 1 });
  return tokens;
}

function isKeyword(t: Token, word?: string): boolean {
  if (t.kind !== 'ident') return false;
  const lower = t.text.toLowerCase();
  return word === undefined ? KEYWORDS.has(lower) : lower === word;
}

function unexpected(t: Token, expected: string): RuleSyntaxError {
  const what = t.kind === 'end' ? 'end of rule' : `'${t.text}'`;
  return new RuleSyntaxError(`unexpected ${what} at column ${t.col}: expected ${expected}`, t.text, t.col);
}

class Parser {
  private index = 0;
  private depth = 0;
  readonly metrics: string[] = [];

  constructor(
    private readonly tokens: Token[],
    private readonly known: readonly string[] | undefined,
  ) {}

  rule(): { expr: RuleExpr; sustainMs: number } {
    if (this.peek().kind === 'end') throw new RuleSyntaxError('empty rule', '', 1);
    const expr = this.or();
    if (!isKeyword(this.peek(), 'for')) {
      this.expectEnd("'and', 'or', 'for' or end of rule");
      return { expr, sustainMs: 0 };
    }
    this.next();
    const sustainMs = this.duration();
    this.expectEnd('end of rule');
    return { expr, sustainMs };
  }

  private or(): RuleExpr {
    let left = this.and();
    while (isKeyword(this.peek(), 'or')) {
      this.next();
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): RuleExpr {
    let left = this.primary();
    while (isKeyword(this.peek(), 'and')) {
      this.next();
      left = { kind: 'and', left, right: this.primary() };
    }
    return left;
  }

  private primary(): RuleExpr {
    const t = this.peek();
    if (t.kind !== '(') return this.comparison();
    if (this.depth >= MAX_DEPTH) {
      throw new RuleSyntaxError(`too many nested '(' at column ${t.col}: at most ${MAX_DEPTH}`, t.text, t.col);
    }
    this.next();
    this.depth++;
    const expr = this.or();
    this.depth--;
    const close = this.next();
    if (close.kind !== ')') throw unexpected(close, "'and', 'or' or ')'");
    return expr;
  }

  private comparison(): Comparison {
    const first = this.next();
    if (first.kind !== 'ident' || isKeyword(first)) throw unexpected(first, "a metric (e.g. load, max(cpu)) or '('");
    let agg: Aggregate = 'avg';
    let metric = first;
    if (this.peek().kind === '(') {
      const name = first.text.toLowerCase();
      if (!(AGGREGATES as readonly string[]).includes(name)) {
        const message = `unknown aggregate '${first.text}' at column ${first.col}: expected ${AGGREGATES.join(', ')}`;
        throw new RuleSyntaxError(message, first.text, first.col);
      }
      agg = name as Aggregate;
      this.next();
      metric = this.next();
      if (metric.kind !== 'ident' || isKeyword(metric)) throw unexpected(metric, 'a metric name');
      const close = this.next();
      if (close.kind !== ')') throw unexpected(close, "')'");
    }
    this.checkMetric(metric);
    const op = this.next();
    if (op.kind !== 'op') throw unexpected(op, OPS_HINT);
    return { kind: 'cmp', agg, metric: metric.text, op: op.text as CompareOp, value: this.number() };
  }

  private checkMetric(t: Token): void {
    if (this.known && !this.known.includes(t.text)) {
      const message = `unknown metric '${t.text}' at column ${t.col} (known: ${this.known.join(', ')})`;
      throw new RuleSyntaxError(message, t.text, t.col);
    }
    if (!this.metrics.includes(t.text)) this.metrics.push(t.text);
  }

  private number(): number {
    const t = this.next();
    if (t.kind !== 'atom') throw unexpected(t, 'a number');
    const value = Number(t.text);
    if (!NUMBER.test(t.text) || !Number.isFinite(value)) {
      throw new RuleSyntaxError(
        `bad number '${t.text}' at column ${t.col}: expected e.g. 90, 0.8, -1.5`,
        t.text,
        t.col,
      );
    }
    // -0 and 0 compare equal everywhere; keep one so ASTs compare structurally.
    return value === 0 ? 0 : value;
  }

  private duration(): number {
    const t = this.next();
    if (t.kind !== 'atom') throw unexpected(t, `a duration (${DURATION_HINT})`);
    let text = t.text;
    const unit = this.peek();
    // `30 s` is as readable as `30s`; accept it for whitespace-insensitivity.
    if (NUMBER.test(text) && unit.kind === 'ident' && DURATION_UNIT.test(unit.text)) {
      this.next();
      text += unit.text;
    }
    try {
      return parseDuration(text.toLowerCase());
    } catch {
      throw new RuleSyntaxError(`bad duration '${text}' at column ${t.col}: expected ${DURATION_HINT}`, text, t.col);
    }
  }

  private expectEnd(expected: string): void {
    const t = this.peek();
    if (t.kind !== 'end') throw unexpected(t, expected);
  }

  private peek(): Token {
    return this.tokens[this.index] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'end') this.index++;
    return t;
  }
}

/**
 * Parses a scaling rule. With `knownMetrics`, a metric outside the list is an error (a typo would
 * otherwise aggregate over no values and never fire). Throws RuleSyntaxError with a one-line message.
 */
export function parseRule(text: string, knownMetrics?: readonly string[]): Rule {
  const parser = new Parser(tokenize(text), knownMetrics);
  const { expr, sustainMs } = parser.rule();
  return { text, expr, sustainMs, metrics: parser.metrics };
}
