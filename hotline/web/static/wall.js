// The supervisors' live wallboard (监控大屏): sign in (supervisor or admin; anyone else is told
// the page is not theirs), then the wall: alerts, today's totals, per line the callers waiting
// (their waits ticking) and the line's KPIs against its target, agents by state with their
// time in state, pending callbacks, the busiest categories of the last hour.
//
// Live: GET /api/v1/wallboard once, then the event stream /api/v1/wallboard/events, whose every
// ``snapshot`` event is the whole wall (a change within a second; at least one every 5 s).
// While the stream is not open, or sends nothing for STALE_MS, the page polls every POLL_MS;
// a stream the browser gave up on is reopened with a growing delay. Every time on the wall
// counts from the server's clock (each snapshot says its time): a wall whose clock is off
// still shows true waits.
//
// Big-screen mode (``?big=1``, or the button): large type, no controls, for a wall display;
// Esc leaves it. ``?lang=en`` picks the language (remembered with the desk's).

import { Api } from './api.js';
import { LANGS, STRINGS, has, lang, setLang, t } from './i18n.js';
import { LiveStream, PageShell, fetchPauseReasons, pauseReasonLabel, reasonLabels } from './page-shell.js';
import { $, clock, el, setText, show } from './views.js';
import { WALL_STRINGS } from './wall-i18n.js';

Object.assign(STRINGS.zh, WALL_STRINGS.zh);
Object.assign(STRINGS.en, WALL_STRINGS.en);

const POLL_MS = 3000;
const STALE_MS = 8000;
const WAITING_SHOWN = 8;
const STAFF = new Set(['supervisor', 'admin']);
const STATE_ORDER = ['available', 'ringing', 'reserved', 'on_call', 'wrap_up', 'paused', 'logged_out'];

const api = new Api();
const params = new URLSearchParams(window.location.search);
const S = {
  me: null,
  snap: null,
  offset: 0, // the server's clock minus this browser's, from the last snapshot
  lastAt: 0, // when the last snapshot came (this browser's clock)
  lastPoll: 0,
  unavailable: false,
  timers: {},
  labels: {},
};
const shell = new PageShell(api, {
  page: 'wall',
  enter,
  stop: stopWall,
  signedIn: () => Boolean(S.me),
  onView: (name) => show($('big-toggle'), name === 'wall'),
  onLanguage: relabel,
});
const live = new LiveStream(api, {
  url: () => '/api/v1/wallboard/events',
  active: () => Boolean(S.me),
  events: {
    snapshot: (event) => {
      try {
        onSnapshot(JSON.parse(event.data));
      } catch { /* a broken event: the next one comes */ }
    },
    unavailable: () => {
      S.unavailable = true;
      renderStream();
    },
    session_ended: () => shell.sessionEnded(),
  },
  onOpen: renderStream,
  onError: renderStream,
});

// -- views ------------------------------------------------------------------------------------

function setBig(on) {
  document.body.classList.toggle('big', on);
  const url = new URL(window.location.href);
  if (on) url.searchParams.set('big', '1');
  else url.searchParams.delete('big');
  window.history.replaceState(null, '', url);
}

// -- signing in and out (page-shell.js does the rest) --------------------------------------------

function boot() {
  const wanted = params.get('lang');
  if (LANGS.includes(wanted)) setLang(wanted);
  if (params.get('big') === '1') setBig(true);
  shell.boot({ wirePage: wire });
}

async function enter(me) {
  S.me = me;
  if (!shell.admit(me, STAFF)) return;
  shell.view('wall');
  renderStream();
  loadLabels();
  await refresh();
  live.open();
  S.timers.tick = window.setInterval(tick, 250);
  S.timers.watch = window.setInterval(watch, 1000);
}

function stopWall() {
  live.stop();
  window.clearInterval(S.timers.tick);
  window.clearInterval(S.timers.watch);
  Object.assign(S, { me: null, snap: null, lastAt: 0, unavailable: false });
}

async function loadLabels() {
  S.labels = reasonLabels(await fetchPauseReasons()); // none: codes are shown as they are
  render();
}

function reasonLabel(code) {
  return pauseReasonLabel(S.labels, code);
}

// -- live data ------------------------------------------------------------------------------------

function serverNow() {
  return Date.now() + S.offset;
}

function onSnapshot(snapshot) {
  if (!S.me || !snapshot || typeof snapshot.at !== 'number') return;
  S.snap = snapshot;
  S.offset = snapshot.at * 1000 - Date.now();
  S.lastAt = Date.now();
  S.unavailable = false;
  render();
}

/** The wall from GET /wallboard (the first one, and the poll's). */
async function refresh() {
  S.lastPoll = Date.now();
  try {
    onSnapshot(await api.get('/wallboard'));
  } catch (err) {
    if (!S.me) return;
    if (err.status === 403) {
      shell.showOther(S.me.role);
      return;
    }
    S.unavailable = err.status === 503 || err.status === 0;
    renderStream();
  }
}

/** Every second: poll while the stream is down or silent. */
function watch() {
  if (!S.me || !S.snap) return;
  const silent = Date.now() - S.lastAt > STALE_MS;
  const open = live.isOpen;
  if (silent && open && live.up) {
    live.up = false; // open but mute (a proxy holding it): as good as down
    renderStream();
  }
  if ((!open || silent) && Date.now() - S.lastPoll >= POLL_MS) refresh();
}

// -- formatting ---------------------------------------------------------------------------------

function pct(value) {
  if (value === null || value === undefined) return t('percent_unknown');
  return `${Math.round(value * 1000) / 10}%`;
}

function count(value) {
  return value === null || value === undefined ? '—' : String(value);
}

function seconds(value) {
  return value === null || value === undefined ? '—' : t('seconds', { n: Math.round(value) });
}

function lineTitle(name) {
  const line = S.snap && S.snap.lines.find((l) => l.line === name);
  return line ? line.title : name || '—';
}

function stateLabel(state) {
  return has(`state.${state}`) ? t(`state.${state}`) : state;
}

/** A timer element: its text is the time since ``since`` (epoch seconds), kept by tick(). */
function since(tag, at, attrs = {}) {
  const node = el(tag, { ...attrs, class: `${attrs.class || ''} timer`.trim(), 'data-since': at });
  node.textContent = clock(serverNow() / 1000 - at);
  return node;
}

function below(value, goal) {
  return value !== null && value !== undefined && goal !== null && goal !== undefined && value < goal;
}

// -- rendering ----------------------------------------------------------------------------------

function renderStream() {
  live.render($('stream'), POLL_MS, S.unavailable);
}

function render() {
  renderStream();
  const snap = S.snap;
  if (!snap) return;
  renderAlerts(snap);
  renderKpiNote(snap);
  renderSummary(snap);
  renderLines(snap);
  renderAgents(snap);
  renderCallbacks(snap);
  renderTopics(snap);
  tick();
}

function alertText(alert) {
  const d = alert.details || {};
  const line = lineTitle(alert.line);
  switch (alert.kind) {
    case 'service_level':
      return t('alert.service_level', { line, value: pct(alert.value), threshold: pct(alert.threshold),
        answered: d.answered ?? '—' });
    case 'connect_rate':
      return t('alert.connect_rate', { value: pct(alert.value), threshold: pct(alert.threshold),
        offered: d.offered ?? '—', answered: d.answered ?? '—' });
    case 'hot_topic': {
      const name = (lang() === 'en' ? d.name_en : d.name_zh) || alert.category;
      if (!d.usual) return t('alert.hot_topic_new', { name, n: d.last_hour });
      return t('alert.hot_topic', { name, n: d.last_hour, usual: Math.round(d.usual * 10) / 10,
        ratio: Math.round((d.ratio || 0) * 10) / 10 });
    }
    case 'long_wait':
      return t('alert.long_wait', { line, time: clock(alert.value), n: d.waiting ?? '—' });
    default:
      return `${alert.kind}: ${alert.value}`;
  }
}

function renderAlerts(snap) {
  const items = snap.alerts.map((alert) => el('div', {
    class: `banner sev-${alert.severity}`, role: 'alert', 'data-kind': alert.kind,
    'data-line': alert.line || undefined, 'data-category': alert.category || undefined,
  }, el('strong', { text: has(`severity.${alert.severity}`) ? t(`severity.${alert.severity}`) : alert.severity }),
  el('span', { text: alertText(alert) })));
  if (!items.length) items.push(el('div', { class: 'banner ok', text: t('no_alerts') }));
  $('alerts').replaceChildren(...items);
}

function renderKpiNote(snap) {
  const node = $('kpi-note');
  if (snap.kpi_as_of === null) setText(node, t('kpi_none'));
  else if (snap.kpi_stale) {
    const at = new Date(snap.kpi_as_of * 1000).toLocaleTimeString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
    setText(node, t('kpi_stale', { time: at }));
  }
  show(node, snap.kpi_as_of === null || snap.kpi_stale);
}

function oldest(waiting) {
  return waiting.length ? Math.min(...waiting.map((w) => w.queued_at)) : null;
}

function renderSummary(snap) {
  const today = snap.totals.today;
  setText($('sum-waiting'), String(snap.totals.waiting));
  const first = oldest(snap.lines.flatMap((line) => line.waiting));
  const longest = $('sum-longest');
  if (first === null) {
    delete longest.dataset.since;
    setText(longest, '—');
  } else longest.dataset.since = String(first);
  setText($('sum-offered'), count(today.offered));
  setText($('sum-answered'), count(today.answered));
  setText($('sum-abandoned'), count(today.abandoned));
  setText($('sum-connect'), pct(today.connect_rate));
  setText($('sum-sl'), pct(today.service_level));
  setText($('sum-callbacks'), String(snap.totals.callbacks));
  const rolling = snap.rolling_24h;
  setText($('sum-rolling'), pct(rolling.connect_rate));
  $('sum-rolling').classList.toggle('bad', below(rolling.connect_rate, rolling.goal));
  $('sum-sl').classList.toggle('bad', below(today.service_level, 0.8));
  $('sum-waiting').classList.toggle('busy', snap.totals.waiting > 0);
}

function figureRow(label, figures, line) {
  const sl = el('td', { text: pct(figures.service_level), class: below(figures.service_level, line.sl_goal) ? 'bad' : '' });
  return el('tr', {}, el('th', { scope: 'row', text: label }),
    el('td', { text: count(figures.offered) }), el('td', { text: count(figures.answered) }),
    el('td', { text: count(figures.abandoned) }), el('td', { text: pct(figures.connect_rate) }), sl,
    el('td', { text: seconds(figures.asa), class: 'asa' }));
}

function renderLine(line) {
  const goal = line.sl_target_seconds === null ? ''
    : t('line_target', { s: Math.round(line.sl_target_seconds), goal: pct(line.sl_goal) });
  const first = oldest(line.waiting);
  const longest = first === null ? el('span', { class: 'num', text: '—' }) : since('span', first, { class: 'num' });
  const listed = line.waiting.slice(0, WAITING_SHOWN).map((w) => el('li', {
    class: w.offered ? 'waiting offered' : 'waiting', 'data-call': w.call_id,
  }, since('span', w.queued_at, { class: 'wait' }),
  el('span', { class: 'tags', text: [w.language, ...w.skills].join(' · ') }),
  w.offered ? el('span', { class: 'badge ring', text: t('ringing_to', { agent: w.agent || '' }) }) : null));
  if (line.waiting.length > WAITING_SHOWN) {
    listed.push(el('li', { class: 'more', text: t('more_waiting', { n: line.waiting.length - WAITING_SHOWN }) }));
  }
  if (!listed.length) listed.push(el('li', { class: 'none', text: t('no_waiting') }));
  const slBad = below(line.last_15m.service_level, line.sl_goal);
  return el('article', { class: `line${slBad ? ' missing' : ''}${line.waiting_count ? ' queueing' : ''}`,
    'data-line': line.line },
  el('header', {}, el('h2', { text: line.title }), el('span', { class: 'target', text: goal })),
  el('div', { class: 'now' },
    el('div', { class: 'big-num' }, el('span', { class: 'num count', text: String(line.waiting_count) }),
      el('span', { class: 'label', text: t('line_waiting') })),
    el('div', { class: 'big-num longest' }, longest, el('span', { class: 'label', text: t('line_longest') })),
    line.offered_count ? el('span', { class: 'badge ring', text: t('line_ringing', { n: line.offered_count }) }) : null),
  el('table', { class: 'figures' },
    el('thead', {}, el('tr', {}, el('th', { text: '' }), el('th', { scope: 'col', text: t('col_offered') }),
      el('th', { scope: 'col', text: t('col_answered') }), el('th', { scope: 'col', text: t('col_abandoned') }),
      el('th', { scope: 'col', text: t('col_connect') }), el('th', { scope: 'col', text: t('col_sl') }),
      el('th', { scope: 'col', text: t('col_asa'), class: 'asa' }))),
    el('tbody', {}, figureRow(t('row_today'), line.today, line), figureRow(t('row_recent'), line.last_15m, line))),
  el('ol', { class: 'waiting-list' }, listed));
}

function renderLines(snap) {
  $('lines').replaceChildren(...snap.lines.map(renderLine));
}

function agentDetail(agent) {
  if (agent.state === 'paused' && agent.pause_reason) return reasonLabel(agent.pause_reason);
  if (agent.pause_pending) return t('pending_pause', { reason: reasonLabel(agent.pause_pending) });
  if (agent.line) return t('on_line', { line: lineTitle(agent.line) });
  return '';
}

function renderAgents(snap) {
  const chips = STATE_ORDER.filter((state) => snap.agents_by_state[state]).map((state) => el('span', {
    class: `chip state-${state}`, 'data-state': state,
  }, el('span', { text: stateLabel(state) }), el('strong', { text: String(snap.agents_by_state[state]) })));
  $('agent-counts').replaceChildren(...chips);
  const shown = snap.agents.filter((a) => a.state !== 'logged_out');
  const items = shown.map((agent) => el('li', { class: `agent state-${agent.state}`, 'data-agent': agent.agent_id },
    el('span', { class: 'id', text: agent.agent_id }),
    el('span', { class: 'badge', text: stateLabel(agent.state) }),
    since('span', agent.since, { class: 'in-state' }),
    el('span', { class: 'detail', text: agentDetail(agent) })));
  if (!items.length) items.push(el('li', { class: 'none', text: t('no_agents') }));
  $('agents').replaceChildren(...items);
}

function renderCallbacks(snap) {
  const items = snap.callbacks.map((cb) => {
    let state;
    if (cb.offered) state = t('callback_ringing', { agent: cb.agent || '' });
    else if (!cb.due && cb.not_before) {
      state = el('span', {}, t('callback_retry', { n: cb.attempts + 1 }));
      state.append(el('span', { class: 'countdown', 'data-until': cb.not_before }));
    } else state = t('callback_due');
    return el('li', { 'data-call': cb.call_id }, el('span', { class: 'name', text: lineTitle(cb.line) }),
      el('span', { class: 'detail' }, t('callback_waited'), since('span', cb.queued_at)),
      el('span', { class: 'detail' }, state));
  });
  if (!items.length) items.push(el('li', { class: 'none', text: t('no_callbacks') }));
  $('callbacks').replaceChildren(...items);
}

function renderTopics(snap) {
  const hot = new Set(snap.alerts.filter((a) => a.kind === 'hot_topic').map((a) => a.category));
  const items = snap.categories.map((c) => el('li', { class: hot.has(c.code) ? 'hot' : '', 'data-category': c.code },
    el('span', { class: 'name', text: lang() === 'en' ? c.name_en : c.name_zh }),
    el('strong', { text: String(c.last_hour) }),
    el('span', { class: 'detail', text: t('topic_usual', { n: Math.round(c.usual * 10) / 10 }) })));
  if (!items.length) items.push(el('li', { class: 'none', text: t('no_topics') }));
  $('topics').replaceChildren(...items);
}

/** The clock and every timer, from the server's time. */
function tick() {
  const now = serverNow();
  setText($('clock'), new Date(now).toLocaleTimeString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false }));
  for (const node of document.querySelectorAll('[data-since]')) {
    setText(node, clock(now / 1000 - Number(node.dataset.since)));
  }
  for (const node of document.querySelectorAll('[data-until]')) {
    setText(node, clock(Number(node.dataset.until) - now / 1000));
  }
}

// -- wiring -------------------------------------------------------------------------------------

/** After the language button (page-shell.js switched the language and the page's fixed words). */
function relabel() {
  shell.sayWho(S.me);
  render();
}

/** The page's own controls (page-shell.js wires the sign-in form and the header's buttons). */
function wire() {
  $('big-toggle').addEventListener('click', () => setBig(true));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && document.body.classList.contains('big')) setBig(false);
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && S.me && S.snap) refresh();
  });
}

boot();
