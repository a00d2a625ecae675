// The call taker's desk (坐席工作台): log in, the agent's state, the current call live from the
// event stream (SSE) with a poll behind it, the screen pop, three-party operations, and the
// work-order / history / knowledge panels. State lives in ``S``; every change ends in
// render(), which makes the page say what ``S`` holds (and announces what changed).
//
// Sources of truth, in order: the API's answers (GET /agents/{id}, GET /agents/{id}/call),
// refreshed on every event of the stream, and polled: every POLL_FAST ms while the stream is
// not open, every POLL_SLOW ms (a safety net) while it is. The stream's events only say
// "something changed" (plus the notices and screen-pop fields they carry).

import { Api } from './api.js';
import { has, lang, t } from './i18n.js';
import {
  LiveStream, PageShell, errorText, fetchPauseReasons, pauseReasonLabel, reasonLabels,
} from './page-shell.js';
import { Panels, featuresOf } from './panels.js';
import {
  $, DIAL_OPS, HOLD_PHASES, ON_CALL_PHASES, OPS, allowedEvents, clock, el, ivrPath, languageName, ms,
  phaseOf, setText, show, timeOfDay, waitSeconds,
} from './views.js';

const POLL_FAST = 3000;
const POLL_SLOW = 15000;
const STREAM_KINDS = ['agent_state', 'call', 'three_party', 'three_party_notice', 'session_ended', 'message'];
// Screen-pop fields a call event may carry (the call record's names, calls/records.py).
const POP_KEYS = ['caller', 'dnis', 'queue', 'language', 'ivr_path', 'wait_seconds', 'queued_at', 'arrived_at',
  'answered_at', 'repeat_calls', 'follow_up_case'];

const api = new Api();
const S = {
  me: null, // {username, role, agent_id}
  agent: null, // AgentOut
  call: null, // CallOut of the current call, or null
  shown: null, // the call the screen pop shows: the current one, or the last one (``current`` false)
  extras: new Map(), // call_id -> screen-pop fields from the stream's call events
  historyCount: null,
  reasons: [], // pause reason codes offered
  labels: {}, // code -> {zh, en}
  agencies: [], // the directory search's answer
  directory: [], // every agency (the work order's list)
  agency: null, // the agency picked for three-party operations
  phase: 'idle',
  busy: false, // an action is under way
  chain: Promise.resolve(), // the actions, one after another
  pending: new Set(), // the buttons whose action waits or runs
  timers: {},
  refreshing: null,
  again: false,
  said: { phase: 'idle', callId: null, state: null },
  wrapNote: false,
  followUps: new Map(), // case number -> the answer recorded from this desk ('' while it is sent)
};
let panels = null;
const shell = new PageShell(api, {
  page: 'desk',
  enter,
  stop: stopDesk,
  signedIn: () => Boolean(S.me),
  onView: (name) => show($('state-box'), name === 'desk'),
  onLanguage: relabel,
});
const live = new LiveStream(api, {
  url: () => `/api/v1${agentPath('/events')}`,
  active: () => Boolean(S.me),
  events: Object.fromEntries(STREAM_KINDS.map((kind) => [kind, (event) => onEvent(kind, event)])),
  onOpen: () => {
    renderStream();
    refresh();
  },
  onError: () => {
    renderStream();
    schedulePoll();
  },
});

// -- views ------------------------------------------------------------------------------------

function announce(text) {
  // Cleared first so the same words said twice are read twice.
  $('live').textContent = '';
  window.setTimeout(() => { $('live').textContent = text; }, 30);
}

/** The table's word for a value the server sends (a state...), or the value itself. */
function label(prefix, value) {
  return has(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : String(value);
}

function showError(err) {
  setText($('alert-text'), errorText(err));
  show($('alert'), true);
  window.clearTimeout(S.timers.alert);
  S.timers.alert = window.setTimeout(() => show($('alert'), false), 10000);
}

// -- signing in and out (page-shell.js does the rest) --------------------------------------------

async function enter(me) {
  S.me = me;
  setText($('who'), t('who', { user: me.username, agent: me.agent_id || '—' }));
  if (me.role !== 'agent' || !me.agent_id) {
    shell.showOther(me.role);
    $('sign-out').focus();
    return;
  }
  shell.view('desk');
  await startDesk();
}

async function startDesk() {
  const [document_, labels, directory] = await Promise.all([
    api.get('/openapi.json').catch(() => null),
    fetchPauseReasons(),
    api.get('/directory').catch(() => []),
  ]);
  setReasons(document_, labels);
  S.directory = directory || [];
  S.agencies = S.directory;
  renderAgencies();
  if (!panels) { // once per page: it wires the panels' own controls
    panels = new Panels(api, {
      onError: showError,
      onHistory: (items, caller) => {
        S.historyCount = items.length;
        if (S.shown && !S.shown.caller && caller) S.shown.caller = caller;
        render();
      },
    });
  }
  panels.setCall(null);
  panels.start(featuresOf(document_), S.directory);
  await refresh();
  live.open();
  schedulePoll();
  S.timers.tick = window.setInterval(tick, 250); // the timers show whole seconds, never late by one
  const first = [$('btn-login'), $('btn-ready'), $('btn-pause')].find((b) => !b.disabled);
  (first || $('main')).focus();
}

function stopDesk() {
  live.stop();
  for (const name of ['poll', 'tick', 'search']) {
    window.clearInterval(S.timers[name]);
    window.clearTimeout(S.timers[name]);
  }
  Object.assign(S, {
    me: null, agent: null, call: null, shown: null, historyCount: null, agency: null, phase: 'idle',
    said: { phase: 'idle', callId: null, state: null }, wrapNote: false, pollDue: null,
  });
  S.extras.clear();
  S.followUps.clear();
}

// -- pause reasons ------------------------------------------------------------------------------

function schemaEnum(document_, name, field) {
  const schemas = (document_ && document_.components && document_.components.schemas) || {};
  let schema = schemas[name] && schemas[name].properties && schemas[name].properties[field];
  for (let i = 0; schema && schema.$ref && i < 5; i += 1) schema = schemas[schema.$ref.split('/').pop()];
  if (!schema) return null;
  if (Array.isArray(schema.enum)) return schema.enum;
  const options = (schema.anyOf || []).flatMap((s) => s.enum || (s.const !== undefined ? [s.const] : []));
  return options.length ? options : null;
}

/** The reasons the API accepts (its pause body's enum), labelled from pause-reasons.json;
 * the file's own list when the API does not say. */
function setReasons(document_, file) {
  S.labels = reasonLabels(file);
  S.reasons = schemaEnum(document_, 'PauseBody', 'reason') || (file ? (file.reasons || []).map((r) => r.code) : []);
  fillReasons();
}

function reasonLabel(code) {
  return pauseReasonLabel(S.labels, code, has(`reason.${code}`) ? t(`reason.${code}`) : code);
}

function fillReasons() {
  const select = $('pause-reason');
  const chosen = select.value;
  select.replaceChildren(...S.reasons.map((code) => el('option', { value: code, text: reasonLabel(code) })));
  if (chosen) select.value = chosen;
}

// -- live data: the stream, the poll ----------------------------------------------------------------

function agentPath(suffix = '') {
  return `/agents/${encodeURIComponent(S.me.agent_id)}${suffix}`;
}

/** The next poll: soon while the stream is not open (it is the only news then). */
function schedulePoll() {
  const open = live.isOpen;
  const due = Date.now() + (open ? POLL_SLOW : POLL_FAST);
  if (S.pollDue && S.pollDue <= due) return; // one is set already, as soon (a flapping stream
  window.clearTimeout(S.timers.poll); //         must not keep putting the poll off)
  S.pollDue = due;
  S.timers.poll = window.setTimeout(async () => {
    S.pollDue = null;
    await refresh();
    if (S.me) schedulePoll();
  }, due - Date.now());
}

function onEvent(kind, event) {
  let data = {};
  try {
    data = JSON.parse(event.data || '{}') || {};
  } catch { /* not JSON: still a reason to refresh */ }
  if (kind === 'session_ended') {
    shell.sessionEnded();
    return;
  }
  if (data.call_id && (kind === 'call' || kind === 'message')) {
    const fields = Object.fromEntries(POP_KEYS.filter((k) => data[k] !== undefined).map((k) => [k, data[k]]));
    S.extras.set(String(data.call_id), { ...(S.extras.get(String(data.call_id)) || {}), ...fields });
    if (S.shown && S.shown.call_id === String(data.call_id)) Object.assign(S.shown, fields);
  }
  if (kind === 'three_party_notice') notice(data);
  refresh();
}

/** Agent and current call from the API; concurrent asks are folded into one more round. */
function refresh() {
  if (!S.me || S.me.role !== 'agent') return Promise.resolve();
  if (S.refreshing) {
    S.again = true;
    return S.refreshing;
  }
  S.refreshing = (async () => {
    do {
      S.again = false;
      const [agent, call] = await Promise.all([
        api.get(agentPath()),
        api.get(agentPath('/call')).catch((err) => {
          if (err.status === 404) return null; // no_current_call
          throw err;
        }),
      ]);
      if (!S.me) return;
      S.agent = agent;
      setCall(call);
    } while (S.again && S.me);
    S.problem = null;
  })().catch((err) => {
    S.problem = err.status === 401 ? null : err;
  }).finally(() => {
    S.refreshing = null;
    render();
  });
  return S.refreshing;
}

function setCall(call) {
  S.call = call;
  if (call) {
    const isNew = !S.shown || S.shown.call_id !== call.call_id;
    if (isNew) {
      S.historyCount = null;
      S.wrapNote = false;
      hideNotice();
    }
    S.shown = { ...(S.extras.get(call.call_id) || {}), ...stripEmpty(call), current: true };
    if (isNew && panels) panels.setCall(S.shown);
  } else if (S.agent && S.agent.call_id && (!S.shown || S.shown.call_id !== S.agent.call_id)) {
    // Bound to a call the desk does not show (a reload in wrap-up): its work order still is
    // the call taker's to file; the history's answer names the caller.
    S.shown = { ...(S.extras.get(S.agent.call_id) || {}), call_id: S.agent.call_id, queue: S.agent.queue,
      current: false };
    if (panels) panels.setCall(S.shown);
  } else if (S.shown) {
    S.shown.current = false;
  }
}

function stripEmpty(call) {
  // an empty list or a zero count from the API says "not known here": the stream's value stays
  return Object.fromEntries(Object.entries(call).filter(([k, v]) => v !== null && v !== undefined && v !== ''
    && !(Array.isArray(v) && v.length === 0) && !(k === 'repeat_calls' && v === 0)));
}

// -- actions ------------------------------------------------------------------------------------

/** Run the actions one after another (a click during the previous one waits for it: it is
 * not lost, and the buttons stay enabled, since disabling the focused one loses focus).
 * A second click of the button whose action is still waiting is ignored. */
function act(button, work) {
  if (button && S.pending.has(button)) return S.chain;
  if (button) S.pending.add(button);
  S.chain = S.chain.then(() => runAction(button, work));
  return S.chain;
}

async function runAction(button, work) {
  S.busy = true;
  document.body.setAttribute('aria-busy', 'true');
  try {
    await work();
  } catch (err) {
    if (err.id === 'csrf_failed') { // this tab lost the session's CSRF value: sign in again
      stopDesk();
      shell.showLogin(t('relogin'));
      return;
    }
    showError(err);
  } finally {
    if (button) S.pending.delete(button);
    S.busy = false;
    document.body.removeAttribute('aria-busy');
    await refresh();
    // The button may now be disabled (Ready once ready): keep the keyboard user's place.
    const focused = document.activeElement;
    if (!focused || focused === document.body || focused.disabled) {
      const next = [button, $('btn-ready'), $('btn-pause'), $('btn-login'), $('btn-logout')].find((b) => b && !b.disabled);
      if (next) next.focus();
    }
  }
}

function agentAction(op, body) {
  return act($(`btn-${op}`), async () => {
    S.agent = await api.post(agentPath(`/${op}`), body);
    if (op === 'ready' && S.agent.state === 'wrap_up') S.wrapNote = true;
  });
}

function operate(op) {
  const call = S.call;
  if (!call) return;
  let body;
  if (DIAL_OPS.has(op)) {
    if (!S.agency) return;
    body = { agency_id: S.agency.agency_id };
    if ($('agency-number').value) body.number = $('agency-number').value;
    if (op === 'transfer') body.mode = 'blind';
    panels.proposeAgency(S.agency.agency_id);
  }
  act(document.querySelector(`[data-op="${op}"]`), async () => {
    const answer = await api.post(agentPath(`/call/${op}`), body, { call_id: call.call_id });
    setCall(answer && answer.state !== 'left' ? answer : null);
  });
}

// -- the three-party panel: agencies and notices --------------------------------------------------

function agencyName(agency) {
  if (!agency) return '';
  return lang() === 'zh' ? agency.name_zh || agency.name_en : agency.name_en || agency.name_zh;
}

function searchAgencies() {
  window.clearTimeout(S.timers.search);
  S.timers.search = window.setTimeout(async () => {
    const q = $('agency-q').value.trim();
    try {
      S.agencies = await api.get('/directory', { q });
    } catch (err) {
      showError(err);
      return;
    }
    renderAgencies();
  }, 200);
}

/** A few of the agency's topics, those written in the page's language when there are some
 * (the directory lists them in Chinese and English mixed). */
function categoriesIn(categories = []) {
  const chinese = /[\u3400-\u9fff]/;
  const mine = categories.filter((c) => chinese.test(c) === (lang() === 'zh'));
  return (mine.length ? mine : categories).slice(0, 3);
}

function renderAgencies() {
  const items = $('agency-items');
  items.replaceChildren();
  if (!S.agencies.length) items.append(el('p', { class: 'muted', text: t('no_agencies') }));
  for (const agency of S.agencies) {
    const input = el('input', { type: 'radio', name: 'agency', value: agency.agency_id,
      checked: Boolean(S.agency && S.agency.agency_id === agency.agency_id) });
    input.addEventListener('change', () => pickAgency(agency));
    const hours = agency.open_now ? 'open' : (agency.numbers_now || []).length ? 'duty' : 'closed';
    items.append(el('label', { class: 'agency' }, input,
      el('span', { class: 'agency-name', text: agencyName(agency) }),
      el('span', { class: `tag ${hours}`, text: t(`hours_now.${hours}`) }),
      el('span', { class: 'agency-meta', text: [agency.department, ...categoriesIn(agency.categories)].join(' · ') })));
  }
  renderNumbers();
}

function pickAgency(agency) {
  S.agency = agency;
  renderNumbers();
  render();
}

function renderNumbers() {
  const select = $('agency-number');
  const agency = S.agency;
  select.replaceChildren(el('option', { value: '', text: t('number_auto') }),
    ...((agency && agency.numbers) || []).map((n) => el('option', {
      value: n.number, text: `${n.number} (${n.hours === '24x7' ? t('hours_24x7') : t('hours_office')})` })));
  select.disabled = !agency;
  setText($('agency-notes'), (agency && agency.notes) || '');
}

function notice(data) {
  const agency = S.directory.find((a) => a.agency_id === data.agency_id)
    || (S.call && S.call.three_party && S.directory.find((a) => a.agency_id === S.call.three_party.agency_id))
    || S.agency;
  const who = agencyName(agency) || t('agencies');
  const key = has(`notice.${data.reason}`) ? `notice.${data.reason}` : 'notice.other';
  let text = t(key, { agency: who, reason: data.reason || '?' });
  if (data.next_number) text += t('notice_next', { number: data.next_number });
  setText($('notice-text'), text);
  show($('notice'), true);
}

function hideNotice() {
  show($('notice'), false);
}

// -- render ---------------------------------------------------------------------------------------

function render() {
  if (!S.me || S.me.role !== 'agent') return;
  const agent = S.agent;
  const state = agent ? agent.state : 'unknown';
  S.phase = phaseOf(agent, S.call);
  renderState(agent, state);
  renderCall();
  renderThree();
  renderStream();
  tick();
  announceChanges(state);
}

function renderState(agent, state) {
  const badge = $('state-badge');
  setText(badge, label('state', state));
  badge.className = `badge s-${state}`;
  $('btn-login').disabled = state !== 'logged_out';
  const pending = agent && agent.pause_reason;
  // In wrap-up, "Ready now" of the call card does it (Alt+R too).
  $('btn-ready').disabled = !(state === 'paused' || (state === 'on_call' && pending));
  $('btn-pause').disabled = !S.reasons.length || state === 'logged_out' || state === 'unknown'
    || (pending && pending === $('pause-reason').value && (state === 'paused' || state === 'on_call'));
  $('pause-reason').disabled = state === 'logged_out' || state === 'unknown';
  $('btn-logout').disabled = !['available', 'paused', 'wrap_up'].includes(state);
  const details = [];
  if (state === 'paused' && pending) details.push(t('paused_for', { reason: reasonLabel(pending) }));
  else if (pending && (state === 'on_call' || state === 'wrap_up')) details.push(t('pause_pending', { reason: reasonLabel(pending) }));
  if (agent && state !== 'logged_out') details.push(t('calls_taken', { n: agent.calls_taken }));
  setText($('state-detail'), details.join(' · '));
}

function renderCall() {
  const phase = S.phase;
  const pop = S.shown;
  const phaseNode = $('phase');
  phaseNode.dataset.phase = phase;
  setText(phaseNode, label('phase', phase));
  phaseNode.classList.toggle('hold', HOLD_PHASES.has(phase));
  setText($('h-call'), pop && !pop.current && phase !== 'ringing' ? t('last_call_heading') : t('call_heading'));
  show($('wrap-box'), phase === 'wrap_up');
  $('btn-ready-now').disabled = phase !== 'wrap_up';
  const wrapUntil = S.agent && ms(S.agent.wrap_until);
  show($('wrap-note'), phase === 'wrap_up' && S.wrapNote && wrapUntil !== null);
  if (wrapUntil !== null) setText($('wrap-note'), t('wrap_ready_note', { time: timeOfDay(wrapUntil) }));
  show($('no-call'), !pop);
  show($('pop'), Boolean(pop));
  renderFollowUp(pop);
  $('call-card').dataset.phase = phase;
  if (!pop) return;
  setText($('pop-caller'), pop.caller || t('unknown'));
  setText($('pop-line'), [pop.dnis, pop.queue].filter(Boolean).join(' / ') || t('unknown'));
  setText($('pop-language'), languageName(pop.language));
  setText($('pop-ivr'), ivrPath(pop.ivr_path));
  const repeat = typeof pop.repeat_calls === 'number' ? pop.repeat_calls : S.historyCount;
  const repeatNode = $('pop-repeat');
  setText(repeatNode, repeat === null || repeat === undefined ? t('unknown')
    : t('repeat_value', { n: repeat }) + (repeat > 0 ? ` · ${t('repeat_flag')}` : ''));
  repeatNode.classList.toggle('flag', Boolean(repeat));
}

/** A citizen who asked for a call taker in a follow-up call (回访): the case, and the two
 * answers the call taker records for it (POST /cases/<n>/follow-up); once recorded, says so. */
function renderFollowUp(pop) {
  const number = pop && pop.follow_up_case;
  show($('follow-up-box'), Boolean(number));
  if (!number) return;
  const box = $('follow-up-box');
  if (box.dataset.case !== number) { // another case: nothing of the last one's answer stays ticked
    box.dataset.case = number;
    $('fu-solved').checked = false;
  }
  setText($('follow-up-text'), t('fu_text', { case: number }));
  const recorded = S.followUps.get(number);
  for (const id of ['fu-satisfied', 'fu-unsatisfied', 'fu-solved']) $(id).disabled = recorded !== undefined;
  if (recorded) setText($('follow-up-status'), t('fu_saved', { case: number }));
  else if (recorded === undefined) setText($('follow-up-status'), '');
}

async function recordFollowUp(satisfied) {
  const number = S.shown && S.shown.follow_up_case;
  if (!number || S.followUps.has(number)) return;
  S.followUps.set(number, '');
  render();
  let failed = null;
  try {
    await api.post(`/cases/${encodeURIComponent(number)}/follow-up`,
      { outcome: 'answered', satisfied, solved: $('fu-solved').checked });
    S.followUps.set(number, satisfied ? 'satisfied' : 'unsatisfied');
  } catch (err) {
    S.followUps.delete(number);
    failed = err;
  }
  render();
  if (failed) setText($('follow-up-status'), errorText(failed));
}

function renderThree() {
  const call = S.call;
  const onCall = Boolean(call) && ON_CALL_PHASES.has(S.phase);
  show($('ops'), onCall);
  const allowed = onCall ? allowedEvents(call) : new Set();
  let needAgency = false;
  for (const button of document.querySelectorAll('#ops [data-op]')) {
    const op = button.dataset.op;
    const legal = allowed.has(OPS[op]);
    const missing = DIAL_OPS.has(op) && !S.agency;
    needAgency = needAgency || (legal && missing);
    button.disabled = !legal || missing;
  }
  setText($('ops-hint'), needAgency ? t('pick_agency') : '');
  const three = call && call.three_party;
  if (three && three.state && three.state !== 'two_party') {
    const agency = S.directory.find((a) => a.agency_id === three.agency_id);
    setText($('three-state'), `${label('phase', three.state)} · ${t('with_agency', {
      agency: agencyName(agency) || three.agency_id || '?', number: three.number || '—' })}`);
  } else setText($('three-state'), '');
}

function renderStream() {
  const node = $('stream');
  live.render(node, POLL_FAST);
  if (S.problem && S.problem.status !== 0) node.title = errorText(S.problem);
}

/** The timers: time in state, talk time, wrap-up countdown. */
function tick() {
  if (!S.me || !S.agent) return;
  const now = api.now();
  const since = ms(S.agent.since);
  setText($('state-timer'), since === null ? '' : clock((now - since) / 1000));
  const pop = S.shown;
  if (pop) {
    const wait = waitSeconds(pop, now);
    setText($('pop-wait'), wait === null ? t('unknown') : t('seconds', { n: Math.round(wait) }));
    const start = ms(pop.answered_at) ?? ms(pop.since);
    const talking = pop.current && ON_CALL_PHASES.has(S.phase);
    setText($('pop-talk'), talking && start !== null ? clock((now - start) / 1000) : t('unknown'));
  }
  const wrapUntil = ms(S.agent.wrap_until);
  if (S.phase === 'wrap_up' && wrapUntil !== null) {
    setText($('wrap-countdown'), clock(Math.ceil((wrapUntil - now) / 1000)));
  }
}

function announceChanges(state) {
  const said = S.said;
  const pop = S.shown;
  const callId = pop ? pop.call_id : null;
  if (said.phase !== S.phase || said.callId !== callId) {
    const caller = (pop && pop.caller) || t('unknown');
    const line = pop ? [pop.dnis, pop.queue].filter(Boolean).join(' / ') : '';
    if (S.phase === 'ringing') announce(t('announce_ringing', { caller, line }));
    else if (S.phase === 'talking') announce(t('announce_talking', { caller }));
    else if (S.phase === 'wrap_up') {
      const left = S.agent && ms(S.agent.wrap_until);
      announce(t('announce_wrap', { n: left ? Math.max(0, Math.ceil((left - api.now()) / 1000)) : 0 }));
    } else if (S.phase === 'idle' && said.phase !== 'idle') announce(t('announce_ended'));
    else if (S.phase !== 'idle') announce(label('phase', S.phase));
  } else if (said.state !== state && S.phase === 'idle') {
    announce(t('announce_state', { state: label('state', state) }));
  }
  S.said = { phase: S.phase, callId, state };
}

// -- wiring ---------------------------------------------------------------------------------------

function shortcut(event) {
  if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || $('view-desk').hidden) return;
  const target = {
    KeyR: S.phase === 'wrap_up' ? $('btn-ready-now') : $('btn-ready'),
    KeyP: $('btn-pause'),
    KeyH: document.querySelector('[data-op="hangup-agency"]'),
  }[event.code];
  if (!target) return;
  event.preventDefault();
  if (!target.disabled) target.click();
}

/** After the language button (page-shell.js switched the language and the page's fixed words). */
function relabel() {
  if (S.me) setText($('who'), t('who', { user: S.me.username, agent: S.me.agent_id || '—' }));
  if (S.me && S.me.role !== 'agent') setText($('other-text'), t('other_text', { role: t(`role_${S.me.role}`) }));
  fillReasons();
  renderAgencies();
  if (panels) panels.relabel();
  S.said.state = null; // say the state again, in the new language
  render();
}

/** The page's own controls (page-shell.js wires the sign-in form and the header's buttons). */
function wire() {
  $('alert-close').addEventListener('click', () => show($('alert'), false));
  $('notice-close').addEventListener('click', hideNotice);
  $('btn-login').addEventListener('click', () => agentAction('login'));
  $('btn-ready').addEventListener('click', () => agentAction('ready'));
  $('btn-ready-now').addEventListener('click', () => agentAction('ready'));
  $('btn-pause').addEventListener('click', () => agentAction('pause', { reason: $('pause-reason').value }));
  $('pause-reason').addEventListener('change', render);
  $('btn-logout').addEventListener('click', () => agentAction('logout'));
  $('agency-q').addEventListener('input', searchAgencies);
  $('fu-satisfied').addEventListener('click', () => recordFollowUp(true));
  $('fu-unsatisfied').addEventListener('click', () => recordFollowUp(false));
  for (const button of document.querySelectorAll('#ops [data-op]')) {
    button.addEventListener('click', () => operate(button.dataset.op));
  }
  document.addEventListener('keydown', shortcut);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') refresh();
  });
}

shell.boot({ wirePage: wire, needCsrf: true });
