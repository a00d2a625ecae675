// The supervisors' recordings review (录音质检): sign in (supervisor or admin; anyone else is told
// the page is not theirs), find the recorded calls of a day (by line, agent, unchecked only:
// GET /api/v1/recordings, the callers masked by the server), choose one, play its recorded parts
// in the browser's own player (<audio> on the API's URL: the session cookie authenticates its
// GETs and HTTP ranges let it seek; the server logs every fetch in the access log), read its
// earlier checks, and file a quality check on the form of GET /api/v1/quality/form (points per
// criterion, vetoes, remarks; POST /api/v1/calls/{id}/quality-checks, with the CSRF header the
// API client sends). Supervisors file checks; admins read them.
//
// The filters are in the address (?day=2026-11-30&line=main&agent=1001&unchecked=1), so a
// reload or a shared link shows the same list. ``?lang=en`` picks the language (remembered with
// the other staff pages'). A day is the browser's local day.

import { Api } from './api.js';
import { LANGS, STRINGS, has, lang, setLang, t } from './i18n.js';
import { PageShell, errorText } from './page-shell.js';
import { REVIEW_STRINGS } from './review-i18n.js';
import { $, clock, dateTime, el, ms, setText, show, timeOfDay } from './views.js';

Object.assign(STRINGS.zh, REVIEW_STRINGS.zh);
Object.assign(STRINGS.en, REVIEW_STRINGS.en);

const PAGE = 50;
const STAFF = new Set(['supervisor', 'admin']);
const AGENT_ID = /^[0-9]{3,8}$/;

const api = new Api();
const S = {
  me: null,
  form: null, // GET /quality/form, or null while it is not loaded
  formFailed: false,
  calls: [], // the list shown, newest first
  more: false, // the last page was full: there may be more
  loaded: false,
  selected: null, // the call id shown on the right
  checks: [], // its checks (GET /calls/{id}/quality-checks), oldest first
  draft: null, // the form's values for the selected call
  lines: new Map(), // line -> its title (the wallboard's), or the line itself
  agents: new Set(), // agent ids seen, for the filter's suggestions
  players: new Map(), // `${call}/${part}` -> its <audio> (kept while the call is shown)
  seq: 0, // the latest list request: an older answer is dropped
  saved: '', // what the last submission said
};
const shell = new PageShell(api, {
  page: 'review',
  enter,
  stop: stopReview,
  signedIn: () => Boolean(S.me),
  onView: () => show($('stream'), false), // no live stream on this page
  onLanguage: relabel,
});

// -- small helpers ----------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

/** The day (YYYY-MM-DD) of an epoch-milliseconds time, in this browser's zone. */
function dayOf(epochMs) {
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** [from, to) of a local day as ISO times (UTC, with their "Z"). */
function dayRange(day) {
  const [y, m, d] = day.split('-').map(Number);
  return { from: new Date(y, m - 1, d).toISOString(), to: new Date(y, m - 1, d + 1).toISOString() };
}

function seconds(value) {
  return value === null || value === undefined ? '—' : clock(value);
}

function lineName(line) {
  return S.lines.get(line) || line || '—';
}

function outcomeLabel(outcome) {
  return has(`outcome.${outcome}`) ? t(`outcome.${outcome}`) : outcome;
}

function named(item) {
  return (lang() === 'en' ? item.name_en : item.name_zh) || item.id;
}

function verdict(passed) {
  return passed ? t('passed') : t('failed');
}

function selectedCall() {
  return S.calls.find((c) => c.call_id === S.selected) || null;
}

const callPath = (callId) => `/calls/${encodeURIComponent(callId)}`;

// -- signing in and out (page-shell.js does the rest) --------------------------------------------

function boot() {
  const wanted = new URLSearchParams(window.location.search).get('lang');
  if (LANGS.includes(wanted)) setLang(wanted);
  shell.boot({ wirePage: wire });
}

async function enter(me) {
  S.me = me;
  if (!shell.admit(me, STAFF)) return;
  shell.view('review');
  fillFilters();
  loadLines();
  await Promise.all([loadForm(), search()]);
}

function stopReview() {
  for (const audio of S.players.values()) audio.pause();
  Object.assign(S, { me: null, form: null, formFailed: false, calls: [], more: false, loaded: false,
    selected: null, checks: [], draft: null, saved: '' });
  S.players.clear();
  S.seq += 1;
  $('calls-body').replaceChildren();
  setText($('list-status'), '');
  show($('more'), false);
  showDetail(false);
}

// -- loading ---------------------------------------------------------------------------------------

/** The filters from the address (default: today, every line and agent). */
function fillFilters() {
  const params = new URLSearchParams(window.location.search);
  const day = params.get('day');
  $('f-day').value = /^\d{4}-\d{2}-\d{2}$/.test(day || '') ? day : dayOf(api.now());
  const line = params.get('line') || '';
  if (line) S.lines.set(line, S.lines.get(line) || line);
  renderLineOptions(line);
  $('f-agent').value = AGENT_ID.test(params.get('agent') || '') ? params.get('agent') : '';
  $('f-unchecked').checked = params.get('unchecked') === '1';
}

/** The lines' titles from the wallboard (supervisors read it); without it, the lines as named. */
async function loadLines() {
  try {
    const wall = await api.get('/wallboard');
    for (const line of wall.lines || []) S.lines.set(line.line, line.title || line.line);
    renderLineOptions($('f-line').value);
    renderList();
  } catch { /* the lines seen in the list are offered instead */ }
}

async function loadForm() {
  try {
    S.form = await api.get('/quality/form');
    S.formFailed = false;
  } catch {
    S.formFailed = true;
  }
  if (S.me && S.selected) renderForm();
}

/** The list for the filters (``append``: the next page after the calls shown). */
async function search(append = false) {
  const agent = $('f-agent').value.trim();
  if (agent && !AGENT_ID.test(agent)) {
    setText($('list-status'), t('bad_agent'));
    $('f-agent').setAttribute('aria-invalid', 'true');
    $('f-agent').focus();
    return;
  }
  $('f-agent').removeAttribute('aria-invalid');
  const day = $('f-day').value || dayOf(api.now());
  const query = { ...dayRange(day), line: $('f-line').value, agent_id: agent,
    checked: $('f-unchecked').checked ? 'false' : '', limit: PAGE, offset: append ? S.calls.length : 0 };
  if (!append) keepInAddress(day, query.line, agent, $('f-unchecked').checked);
  const seq = ++S.seq;
  setText($('list-status'), t('list_loading'));
  try {
    const found = await api.get('/recordings', query);
    if (seq !== S.seq || !S.me) return;
    const known = new Set(append ? S.calls.map((c) => c.call_id) : []);
    S.calls = append ? [...S.calls, ...found.filter((c) => !known.has(c.call_id))] : found;
    S.more = found.length === PAGE;
    S.loaded = true;
    for (const call of found) {
      if (call.line && !S.lines.has(call.line)) S.lines.set(call.line, call.line);
      if (call.agent_id) S.agents.add(call.agent_id);
    }
    renderLineOptions($('f-line').value);
    renderAgentOptions();
    renderList();
  } catch (err) {
    if (seq !== S.seq || !S.me) return;
    if (err.status === 403) {
      shell.showOther(S.me.role);
      return;
    }
    setText($('list-status'), errorText(err));
  }
}

function keepInAddress(day, line, agent, unchecked) {
  const url = new URL(window.location.href);
  const set = (name, value) => (value ? url.searchParams.set(name, value) : url.searchParams.delete(name));
  set('day', day);
  set('line', line);
  set('agent', agent);
  set('unchecked', unchecked ? '1' : '');
  window.history.replaceState(null, '', url);
}

async function loadChecks(callId) {
  try {
    const checks = await api.get(`${callPath(callId)}/quality-checks`);
    if (S.selected !== callId) return;
    S.checks = checks;
    renderChecks();
  } catch { /* the list's summaries stay */ }
}

// -- the list ------------------------------------------------------------------------------------

function renderLineOptions(chosen) {
  const any = el('option', { value: '', text: t('filter_any_line') });
  const options = [...S.lines.entries()].sort((a, b) => a[0].localeCompare(b[0]))
    .map(([line, title]) => el('option', { value: line, text: title === line ? line : `${title} (${line})` }));
  $('f-line').replaceChildren(any, ...options);
  $('f-line').value = chosen && S.lines.has(chosen) ? chosen : '';
}

function renderAgentOptions() {
  $('agents-seen').replaceChildren(...[...S.agents].sort().map((id) => el('option', { value: id })));
}

function checkBadge(call) {
  if (!call.checks.length) return el('span', { class: 'badge todo', text: t('not_checked') });
  const last = call.checks[call.checks.length - 1];
  const text = call.checks.length > 1 ? t('checked_more', { score: last.score, n: call.checks.length })
    : t('checked_score', { score: last.score });
  return el('span', { class: `badge ${last.passed ? 'pass' : 'fail'}`, text, title: verdict(last.passed) });
}

function renderList() {
  if (!S.me) return;
  const rows = S.calls.map((call) => {
    const time = timeOfDay(ms(call.arrived_at));
    const chosen = call.call_id === S.selected;
    return el('tr', { 'data-call': call.call_id, class: chosen ? 'selected' : '' },
      el('td', {}, el('button', { type: 'button', class: 'open', text: time, 'data-call': call.call_id,
        'aria-label': t('open_call', { time: dateTime(call.arrived_at) }), 'aria-current': chosen ? 'true' : undefined })),
      el('td', { text: lineName(call.line) }),
      el('td', { text: call.agent_id || '—' }),
      el('td', { class: 'caller', text: call.caller }),
      el('td', { text: outcomeLabel(call.outcome) }),
      el('td', { class: 'num', text: seconds(call.wait_seconds) }),
      el('td', { class: 'num', text: seconds(call.talk_seconds) }),
      el('td', {}, checkBadge(call)));
  });
  $('calls-body').replaceChildren(...rows);
  show($('more'), S.more);
  if (!S.loaded) return;
  let status;
  if (!S.calls.length) status = t('list_none');
  else if (S.more) status = t('list_more', { n: S.calls.length });
  else status = t('list_count', { n: S.calls.length });
  setText($('list-status'), status);
}

// -- the call on the right -------------------------------------------------------------------------

function showDetail(visible) {
  show($('d-body'), visible);
  show($('d-empty'), !visible);
  if (!visible) setText($('d-heading'), t('detail_heading'));
}

function freshDraft() {
  const scores = {};
  for (const c of (S.form && S.form.criteria) || []) scores[c.id] = String(c.points); // full marks, then deduct
  return { scores, vetoes: new Set(), remarks: '', keep: false };
}

function openCall(callId) {
  const call = S.calls.find((c) => c.call_id === callId);
  if (!call) return;
  if (S.selected !== callId) {
    for (const [key, audio] of S.players) {
      if (!key.startsWith(`${callId}/`)) {
        audio.pause();
        S.players.delete(key);
      }
    }
    S.selected = callId;
    S.checks = call.checks;
    S.draft = null;
    S.saved = '';
  }
  renderList();
  renderDetail();
  $('d-heading').focus();
  loadChecks(callId);
}

function fact(label, value, attrs = {}) {
  return [el('dt', { text: label }), el('dd', { ...attrs, text: value })];
}

function player(call, part) {
  const key = `${call.call_id}/${part.part}`;
  let audio = S.players.get(key);
  if (!audio) {
    audio = el('audio', { controls: true, preload: 'metadata', src: part.url, 'data-part': part.part });
    S.players.set(key, audio);
  }
  audio.setAttribute('aria-label', t('part_player', { part: t(`part.${part.part}`) }));
  return audio;
}

function renderParts(call) {
  const parts = call.parts.map((part) => {
    const length = typeof part.seconds === 'number' ? t('part_length', { time: clock(Math.round(part.seconds)) }) : '';
    const head = el('p', { class: 'part-head' }, el('strong', { text: t(`part.${part.part}`) }),
      length ? el('span', { class: 'note', text: length }) : null);
    const body = part.available && part.url ? player(call, part)
      : el('p', { class: 'note purged', text: t('part_purged', { time: dateTime(part.purged_at) }) });
    return el('div', { class: 'part', 'data-part': part.part }, head, body);
  });
  if (!parts.length) parts.push(el('p', { class: 'note', text: t('no_parts') }));
  $('d-parts').replaceChildren(...parts);
}

function renderDetail() {
  const call = selectedCall();
  if (!call) {
    showDetail(false);
    return;
  }
  showDetail(true);
  setText($('d-heading'), t('detail_call', { time: dateTime(call.arrived_at) }));
  $('d-facts').replaceChildren(
    ...fact(t('fact_call_id'), call.call_id, { class: 'mono' }),
    ...fact(t('fact_line'), `${lineName(call.line)} / ${call.dnis || '—'}`),
    ...fact(t('fact_agent'), call.agent_id || '—'),
    ...fact(t('fact_caller'), call.caller, { class: 'mono' }),
    ...fact(t('fact_outcome'), outcomeLabel(call.outcome)),
    ...fact(t('fact_wait'), seconds(call.wait_seconds)),
    ...fact(t('fact_talk'), seconds(call.talk_seconds)));
  renderParts(call);
  renderChecks();
  renderForm();
}

function renderChecks() {
  const names = new Map(((S.form && S.form.vetoes) || []).map((v) => [v.id, named(v)]));
  const items = S.checks.map((check) => {
    const line = t('check_line', { time: dateTime(check.at), reviewer: check.reviewer, score: check.score,
      verdict: verdict(check.passed) });
    const vetoes = check.vetoes && check.vetoes.length
      ? el('p', { class: 'veto', text: t('check_vetoes', { names: check.vetoes.map((v) => names.get(v) || v).join('、') }) })
      : null;
    return el('li', { class: check.passed ? 'pass' : 'fail', 'data-check': check.id },
      el('p', { class: 'check-line', text: line }), vetoes,
      check.remarks ? el('p', { class: 'remarks', text: check.remarks }) : null,
      check.keep ? el('p', { class: 'note', text: t('check_keep') }) : null);
  });
  if (!items.length) items.push(el('li', { class: 'none', text: t('no_checks') }));
  $('d-checks').replaceChildren(...items);
}

// -- the quality-check form ------------------------------------------------------------------------

function renderForm() {
  const supervisor = S.me && S.me.role === 'supervisor';
  show($('qc-note'), !supervisor);
  show($('qc-form'), supervisor && Boolean(S.form));
  if (!supervisor) return;
  if (!S.form) {
    setText($('qc-error'), S.formFailed ? t('qc_no_form') : '');
    return;
  }
  if (!S.draft) S.draft = freshDraft();
  const draft = S.draft;
  setText($('qc-title'), t('qc_title', { form: named({ ...S.form, id: S.form.form }) }));
  const rows = S.form.criteria.map((c) => {
    const id = `qc-${c.id}`;
    return el('div', { class: 'criterion' },
      el('label', { for: id, text: named(c) }),
      el('span', { class: 'entry' },
        el('input', { id, type: 'number', min: '0', max: String(c.points), step: '1', inputMode: 'numeric',
          value: draft.scores[c.id] ?? '', required: true, 'data-criterion': c.id, 'aria-describedby': `${id}-guide` }),
        el('span', { class: 'max', text: t('qc_max', { n: c.points }) })),
      el('p', { class: 'guide', id: `${id}-guide`, text: lang() === 'en' ? c.guide_en : c.guide_zh }));
  });
  const criteria = $('qc-criteria');
  criteria.replaceChildren(criteria.querySelector('legend'), ...rows);
  const vetoes = S.form.vetoes.map((v) => el('div', { class: 'check' },
    el('input', { id: `qc-veto-${v.id}`, type: 'checkbox', checked: draft.vetoes.has(v.id), 'data-veto': v.id }),
    el('label', { for: `qc-veto-${v.id}`, text: named(v) })));
  const fieldset = $('qc-vetoes');
  fieldset.replaceChildren(fieldset.querySelector('legend'), ...vetoes);
  show(fieldset, vetoes.length > 0);
  $('qc-remarks').value = draft.remarks;
  $('qc-keep').checked = draft.keep;
  setText($('qc-saved'), S.saved);
  renderTotal();
}

/** The score as the server computes it (recordings/quality.py): the points, or 0 with a veto. */
function draftScore() {
  let total = 0;
  for (const c of S.form.criteria) {
    const value = Number(S.draft.scores[c.id]);
    if (!Number.isInteger(value) || value < 0 || value > c.points) return null;
    total += value;
  }
  return S.draft.vetoes.size ? 0 : total;
}

function renderTotal() {
  const score = draftScore();
  const pass = S.form.pass_score;
  setText($('qc-total'), score === null ? ''
    : t('qc_total', { score, verdict: verdict(score >= pass && !S.draft.vetoes.size), pass }));
}

function onFormInput(event) {
  const target = event.target;
  if (!S.draft) return;
  if (target.dataset.criterion) {
    S.draft.scores[target.dataset.criterion] = target.value;
    target.removeAttribute('aria-invalid');
  } else if (target.dataset.veto) {
    if (target.checked) S.draft.vetoes.add(target.dataset.veto);
    else S.draft.vetoes.delete(target.dataset.veto);
  } else if (target.id === 'qc-remarks') S.draft.remarks = target.value;
  else if (target.id === 'qc-keep') S.draft.keep = target.checked;
  if (S.saved) {
    S.saved = '';
    setText($('qc-saved'), '');
  }
  renderTotal();
}

async function submitCheck(event) {
  event.preventDefault();
  const callId = S.selected;
  if (!callId || !S.form || !S.draft) return;
  const scores = {};
  for (const c of S.form.criteria) {
    const value = Number(S.draft.scores[c.id]);
    if (S.draft.scores[c.id] === '' || !Number.isInteger(value) || value < 0 || value > c.points) {
      const input = $(`qc-${c.id}`);
      input.setAttribute('aria-invalid', 'true');
      setText($('qc-error'), t('qc_bad_points', { name: named(c), n: c.points }));
      input.focus();
      return;
    }
    scores[c.id] = value;
  }
  const body = { scores, vetoes: [...S.draft.vetoes], remarks: S.draft.remarks.trim(), keep: S.draft.keep };
  const button = $('qc-submit');
  button.disabled = true;
  setText(button, t('qc_sending'));
  setText($('qc-error'), '');
  setText($('qc-saved'), '');
  try {
    const check = await api.post(`${callPath(callId)}/quality-checks`, body);
    const call = S.calls.find((c) => c.call_id === callId);
    if (call) {
      call.checks = [...call.checks, { id: check.id, reviewer: check.reviewer, score: check.score,
        passed: check.passed, at: check.at }];
      call.checked = true;
    }
    if (S.selected === callId) {
      S.checks = [...S.checks.filter((c) => c.id !== check.id), check];
      S.draft = freshDraft();
      S.saved = t('qc_saved', { score: check.score, verdict: verdict(check.passed) });
      renderChecks();
      renderForm();
    }
    renderList();
  } catch (err) {
    setText($('qc-error'), errorText(err));
  } finally {
    button.disabled = false;
    setText(button, t('qc_submit'));
  }
}

// -- wiring ---------------------------------------------------------------------------------------

/** After the language button (page-shell.js switched the language and the page's fixed words). */
function relabel() {
  if (!S.me) return;
  shell.sayWho(S.me);
  renderLineOptions($('f-line').value);
  renderList();
  if (S.selected) renderDetail();
  else showDetail(false);
}

/** The page's own controls (page-shell.js wires the sign-in form and the header's buttons). */
function wire() {
  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    search();
  });
  for (const id of ['f-day', 'f-line', 'f-unchecked']) $(id).addEventListener('change', () => search());
  $('more').addEventListener('click', () => search(true));
  $('calls-body').addEventListener('click', (event) => {
    const row = event.target.closest('tr[data-call]');
    if (row) openCall(row.dataset.call);
  });
  $('qc-form').addEventListener('input', onFormInput);
  $('qc-form').addEventListener('change', onFormInput);
  $('qc-form').addEventListener('submit', submitCheck);
}

boot();
