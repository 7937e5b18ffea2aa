// The live page of an agent's monitor (GET / in a browser). Plain browser JS, embedded into the
// agent at build time (scripts/embed-page.mjs). It reads the monitor's JSON once and then follows
// GET /events: every pool event and each 5 s pool sample drive the updates (no polling loop).
// Everything peers gossip is shown with textContent, never parsed as HTML.
const $ = (id) => document.getElementById(id);
const state = { cluster: null, samples: [], events: [], decisions: [], rules: {}, lastAt: 0, live: false };

async function json(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  return res.json();
}

// ---- members, leader, this node ----
function renderCluster(view) {
  state.cluster = view;
  $('pool').textContent = view.pool;
  const me = view.members.find((m) => m.peerId === view.self);
  $('self').textContent = me ? `${me.cloud}/${me.instanceId}` : short(view.self);
  const leader = view.leader && view.members.find((m) => m.peerId === view.leader.peerId);
  $('leader').textContent = view.leader
    ? leader
      ? `${leader.cloud}/${leader.instanceId}`
      : short(view.leader.peerId)
    : 'none yet';
  $('term').textContent = view.leader ? String(view.leader.term) : '–';
  $('alive').textContent = String(view.members.filter((m) => m.state === 'alive').length);
  const metrics = [...new Set(view.members.flatMap((m) => Object.keys(m.metrics)))].sort();
  const head = el(
    'tr',
    {},
    ...['Cloud', 'Instance', 'Address', 'State', 'Leader', 'Bundle', ...metrics].map((h) =>
      el('th', { scope: 'col' }, h),
    ),
  );
  $('members').tHead.replaceChildren(head);
  const rows = [...view.members]
    .sort((a, b) => a.cloud.localeCompare(b.cloud) || a.instanceId.localeCompare(b.instanceId))
    .map((m) => {
      let host = m.monitor;
      try {
        host = new URL(m.monitor).host;
      } catch {}
      const isLeader = view.leader && view.leader.peerId === m.peerId;
      const bundle = m.bundle
        ? m.bundle.state && m.bundle.state !== 'ok'
          ? `${m.bundle.state} ${(m.bundle.target || '').slice(0, 8)}`
          : (m.bundle.applied || '').slice(0, 8)
        : '–';
      return el(
        'tr',
        { 'data-peer': m.peerId, 'data-state': m.state },
        el('td', {}, m.cloud),
        el('td', {}, m.instanceId, m.peerId === view.self ? ' (this node)' : ''),
        el('td', {}, host),
        el(
          'td',
          { class: `state-${m.state}` },
          `${m.state}${m.peerId === view.self ? '' : `, heard ${ago(m.lastSeenMs)} ago`}`,
        ),
        el('td', {}, isLeader ? '★ leader' : ''),
        el('td', {}, bundle),
        ...metrics.map((k) => el('td', { class: 'num' }, num(m.metrics[k]))),
      );
    });
  $('members').tBodies[0].replaceChildren(...rows);
}

async function refreshNode() {
  const [ready, stats, health] = await Promise.all([json('/ready'), json('/stats'), json('/health')]);
  $('ready').textContent = ready.ready ? 'ready' : 'not ready';
  $('ready-detail').textContent = Object.entries(ready.checks)
    .filter(([, c]) => !c.ok)
    .map(([k, c]) => `${k}: ${c.detail}`)
    .join('; ');
  const facts = [
    ['Peer id', health.peerId],
    ['Instance', `${stats.cloud}/${health.instanceId}`],
    ['Up for', ago(health.uptimeS * 1000)],
    ...Object.entries(ready.checks).map(([k, c]) => [`Ready: ${k}`, `${c.ok ? 'yes' : 'no'} (${c.detail})`]),
    ...Object.entries(stats.metrics).map(([k, r]) => [`Metric ${k}`, r.error ? `error: ${r.error}` : num(r.value)]),
  ];
  $('node').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

// ---- charts ----
function renderCharts() {
  const samples = state.samples;
  const since = samples[0]?.at;
  const clouds = [...new Set(samples.flatMap((s) => Object.keys(s.clouds)))].sort();
  const sizeCharts = clouds.map((cloud) => {
    const series = (k) => samples.map((s) => [s.at, s.clouds[cloud] ? s.clouds[cloud][k] : null]);
    const last = samples.at(-1)?.clouds[cloud];
    const marks = state.decisions.filter((d) => d.cloud === cloud || (d.kind === 'retire' && !d.cloud));
    const bounds = last && last.min !== null ? `, min ${last.min}, max ${last.max}` : '';
    return chart(
      cloud,
      [
        { cls: 'value', points: series('alive') },
        { cls: 'bound', points: series('min') },
        { cls: 'bound', points: series('max') },
      ],
      marks,
      `${last ? last.alive : 0} alive${bounds}`,
      since,
    );
  });
  $('size-charts').replaceChildren(
    ...(sizeCharts.length ? sizeCharts : [el('p', { class: 'hint' }, 'No samples yet.')]),
  );
  const terms = new Map();
  for (const s of samples) for (const r of s.rules) terms.set(`${r.cloud}|${r.rule}|${r.term}`, r);
  const ruleCharts = [...terms.entries()].map(([key, r]) => {
    const pts = (k) =>
      samples.map((s) => [s.at, s.rules.find((q) => `${q.cloud}|${q.rule}|${q.term}` === key)?.[k] ?? null]);
    const windowMs = state.rules[`${r.cloud}|${r.rule}`];
    const held = r.holds ? `holds for ${ago(r.heldMs)}${windowMs ? ` of ${ago(windowMs)}` : ''}` : 'does not hold';
    return chart(
      `${r.cloud} ${r.rule}: ${r.term}`,
      [
        { cls: 'value', points: pts('value') },
        { cls: 'threshold', points: pts('threshold') },
      ],
      [],
      `value ${num(r.value)}, threshold ${num(r.threshold)}, ${held}`,
      since,
    );
  });
  $('rule-charts').replaceChildren(
    ...(ruleCharts.length ? ruleCharts : [el('p', { class: 'hint' }, 'No scaling rules on this node.')]),
  );
}

// ---- decisions and events ----
function addDecision(d) {
  // An action seen again (its outcome arrived) replaces its earlier line.
  const at = state.decisions.findIndex((q) => q.key === d.key);
  if (at >= 0) state.decisions[at] = d;
  else state.decisions.push(d);
  state.decisions.sort((a, b) => b.at - a.at);
  state.decisions.length = Math.min(state.decisions.length, 100);
  $('decisions').replaceChildren(
    ...state.decisions.map((q) =>
      el('li', { 'data-kind': q.kind }, el('time', {}, clock(q.at)), `${q.kind} ${q.cloud || ''} ${q.text}`),
    ),
  );
}
function fromScalingDecision(d) {
  return {
    key: `d${d.term}:${d.at}:${d.cloud}`,
    at: d.at,
    cloud: d.cloud,
    kind: d.action,
    text: `×${d.count}: ${d.reason}${d.blocked ? ` (blocked: ${d.blocked})` : ''}${d.result ? ` → ${d.result}` : ''}`,
  };
}
function addEvent(e) {
  // The leader decides "nothing to do" every step: those are in /scaling, not in the timeline.
  if (e.type === 'scaling-decision' && e.action === 'none') return;
  state.events.unshift(e);
  state.events.length = Math.min(state.events.length, 200);
  $('events').replaceChildren(
    ...state.events.map((q) => el('li', { 'data-type': q.type }, el('time', {}, clock(q.at)), describe(q))),
  );
  if (e.type === 'scaling-decision' && e.action !== 'none') addDecision(fromScalingDecision(e));
  if (e.type === 'retiring')
    addDecision({
      key: `r${e.peerId}:${e.at}`,
      at: e.at,
      cloud: '',
      kind: 'retire',
      text: `${e.instanceId}: ${e.reason}`,
    });
}

/**
 * The leader lists its own decisions (blocked ones too); a follower only knows the actions the
 * leader gossiped (intents and their outcomes), so it shows those.
 */
function addDecisions(scaling) {
  if (scaling.leading)
    for (const d of scaling.decisions || []) if (d.action !== 'none') addDecision(fromScalingDecision(d));
  if (!scaling.leading)
    for (const a of scaling.actions || [])
      addDecision({
        key: `a${a.term}:${a.at}:${a.cloud}`,
        at: a.at,
        cloud: a.cloud,
        kind: a.kind,
        text: `×${a.count}: ${a.reason} → ${a.outcome}`,
      });
}

// ---- live stream ----
let refreshQueued = false;
function refreshSoon() {
  if (refreshQueued) return;
  refreshQueued = true;
  setTimeout(async () => {
    refreshQueued = false;
    try {
      renderCluster(await json('/cluster'));
      addDecisions(await json('/scaling'));
      renderCharts();
      await refreshNode();
    } catch {
      setLive(false);
    }
  }, 250);
}
function setLive(live) {
  state.live = live;
  showStatus();
}
function showStatus() {
  const s = $('status');
  const since = state.lastAt ? `, last update ${ago(Date.now() - state.lastAt)} ago` : '';
  s.textContent = state.live ? `live${since}` : `reconnecting${since}`;
  s.className = `badge ${state.live ? 'live' : 'stale'}`;
}
function connect() {
  const source = new EventSource('/events');
  const seen = () => {
    state.lastAt = Date.now();
    setLive(true);
  };
  source.addEventListener('open', seen);
  source.addEventListener('hello', (m) => {
    seen();
    renderCluster(JSON.parse(m.data));
  });
  source.addEventListener('pool-sample', (m) => {
    seen();
    const { type, ...sample } = JSON.parse(m.data);
    state.samples.push(sample);
    while (state.samples.length && state.samples[0].at < Date.now() - HOUR) state.samples.shift();
    renderCharts();
    refreshSoon();
  });
  // POOL_EVENT_TYPES: every pool event name, written in by scripts/embed-page.mjs from shared/wire/.
  for (const t of POOL_EVENT_TYPES)
    source.addEventListener(t, (m) => {
      seen();
      addEvent(JSON.parse(m.data));
      renderCharts();
      refreshSoon();
    });
  source.addEventListener('error', () => {
    setLive(false);
    // The browser retries by itself unless the server refused the stream: then retry here.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
  });
}

async function start() {
  try {
    const [cluster, history, scaling] = await Promise.all([json('/cluster'), json('/history'), json('/scaling')]);
    renderCluster(cluster);
    state.samples = history.samples;
    for (const [cloud, s] of Object.entries(scaling.clouds || {}))
      for (const rule of ['expand', 'contract'])
        if (s.rules?.[rule]) state.rules[`${cloud}|${rule}`] = s.rules[rule].sustainMs;
    for (const e of history.events) addEvent(e);
    addDecisions(scaling);
    renderCharts();
    await refreshNode();
  } catch {
    setLive(false);
  }
  connect();
  setInterval(showStatus, 1000);
}
start();
