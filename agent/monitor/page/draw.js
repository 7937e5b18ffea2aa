// Drawing helpers of the monitor's live page: DOM and SVG elements, number and time formats, and
// the line chart, the one-line text of a pool event. Plain browser JS; scripts/embed-page.mjs wraps it and live.js in one script.
const HOUR = 3_600_000;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
function svgEl(tag, attrs, text) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}
const short = (id) => (id ? `${id.slice(0, 6)}…${id.slice(-4)}` : '');
const clock = (at) => new Date(at).toLocaleTimeString([], { hour12: false });
const num = (v) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : String(+v.toFixed(3))) : '–');
const ago = (ms) =>
  ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;

/** A line chart of the last hour, or of the time since `since` when that is shorter (at least 2 min). */
// biome-ignore lint/correctness/noUnusedVariables: live.js calls it (scripts/embed-page.mjs joins both into one scope)
function chart(title, lines, marks, summary, since) {
  const W = 480;
  const H = 150;
  const P = { l: 34, r: 8, t: 8, b: 18 };
  const now = Date.now();
  const x0 = Math.max(now - HOUR, Math.min(since || 0, now - 120_000));
  const span = now - x0;
  const values = lines.flatMap((l) => l.points.map((p) => p[1])).filter((v) => typeof v === 'number');
  const lo = Math.min(0, ...values);
  let hi = Math.max(1, ...values);
  if (hi === lo) hi = lo + 1;
  hi += (hi - lo) * 0.1;
  const x = (t) => P.l + ((t - x0) / span) * (W - P.l - P.r);
  const y = (v) => H - P.b - ((v - lo) / (hi - lo)) * (H - P.t - P.b);
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${summary}` });
  svg.append(svgEl('line', { class: 'axis', x1: P.l, x2: W - P.r, y1: y(lo), y2: y(lo) }));
  for (const v of [lo, (lo + hi) / 2, hi]) svg.append(svgEl('text', { x: 2, y: y(v) + 3 }, num(v)));
  svg.append(
    svgEl('text', { x: P.l, y: H - 4 }, `−${Math.round(span / 60_000)} min`),
    svgEl('text', { x: W - P.r - 22, y: H - 4 }, 'now'),
  );
  for (const line of lines) {
    const pts = line.points.filter((p) => p[0] >= x0 && typeof p[1] === 'number');
    if (pts.length === 0) continue;
    if (pts.length === 1) pts.push([now, pts[0][1]]);
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
    svg.append(svgEl('path', { class: line.cls, d }, undefined));
  }
  for (const m of marks) {
    if (m.at < x0) continue;
    const mark = svgEl(
      'text',
      { class: `mark ${m.kind}`, x: x(m.at) - 4, y: P.t + 10, tabindex: 0 },
      m.kind === 'expand' ? '▲' : m.kind === 'retire' ? '✕' : '▼',
    );
    mark.append(svgEl('title', {}, `${clock(m.at)} ${m.text}`));
    svg.append(mark);
  }
  return el('figure', {}, el('figcaption', {}, title, el('span', { class: 'detail' }, ` — ${summary}`)), svg);
}

// biome-ignore lint/correctness/noUnusedVariables: live.js calls it (scripts/embed-page.mjs joins both into one scope)
function describe(e) {
  switch (e.type) {
    case 'leader-elected':
      return `leader ${short(e.peerId)} elected, term ${e.term}${e.self ? ' (this node)' : ''}${e.reason ? `: ${e.reason}` : ''}`;
    case 'leader-lost':
    case 'leader-stepped-down':
      return `${e.type.replace('leader-', 'leader ')} ${short(e.peerId)}, term ${e.term}${e.reason ? `: ${e.reason}` : ''}`;
    case 'scaling-decision':
      return `decision ${e.action} ${e.cloud} ×${e.count}: ${e.reason}`;
    case 'retiring':
      return `retiring ${e.instanceId}: ${e.reason}`;
    case 'bundle-applied':
      return `bundle ${e.sha.slice(0, 8)} applied on ${short(e.peerId)} in ${ago(e.durationMs)}`;
    case 'bundle-failed':
      return `bundle ${e.sha.slice(0, 8)} failed on ${short(e.peerId)} (${e.stage}): ${e.error}`;
    case 'upgrade-started':
      return `upgrade to ${e.version} ${e.resumed ? 'continued by this leader' : 'started'} (${e.members} members)${e.reason ? `: ${e.reason}` : ''}`;
    case 'upgrade-progress':
      return `upgrade: ${e.instanceId} ${e.phase} ${e.version}${e.error ? `: ${e.error}` : ''}`;
    case 'upgrade-halted':
      return `upgrade to ${e.version} halted at ${e.instanceId}: ${e.reason}`;
    case 'upgrade-complete':
      return `upgrade to ${e.version} complete on ${e.members} members`;
    default:
      return e.type.startsWith('member-')
        ? `${e.type.slice(7)}: ${e.instanceId} (${short(e.peerId)})`
        : `${e.type}${e.sha ? ` ${e.sha.slice(0, 8)}` : ''}`;
  }
}
