// The agency page (/agency): an agency's staff sign in, list their agency's cases, accept
// one, ask for more time, reply with the result, or return it to the hotline. Everything
// comes from the API's /agency routes (routes/cases.py), which check the role and the
// agency on every request; this page holds no data of its own. Text is set with
// textContent only (nothing a citizen typed is ever parsed as HTML).

import { Api, ApiError } from './api.js';

const api = new Api();
const $ = (id) => document.getElementById(id);
let current = null; // the case shown in the detail panel

const STATES = {
  open: '待转办 · Open', handled_directly: '直办 · Handled directly', transferred: '待签收 · To accept',
  accepted: '办理中 · Accepted', extension_requested: '延期申请中 · Extension asked', extended: '已延期 · Extended',
  replied: '已答复 · Replied', followed_up: '已回访 · Followed up', closed: '已办结 · Closed',
  reopened: '重办 · Reopened',
};

function show(view) {
  for (const id of ['view-loading', 'view-login', 'view-cases']) $(id).hidden = id !== view;
}

function alertText(text) {
  $('alert-text').textContent = text;
  $('alert').hidden = !text;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '—';
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.append(td);
  return td;
}

function fail(error) {
  alertText(error instanceof ApiError ? `${error.id}: ${error.message}` : String(error));
}

async function loadCases() {
  const query = { state: $('filter-state').value, overdue: $('filter-overdue').checked ? 'true' : '' };
  const cases = await api.get('/agency/cases', query);
  const rows = $('case-rows');
  rows.replaceChildren();
  for (const c of cases) {
    const row = document.createElement('tr');
    const first = cell(row, '');
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'link';
    open.textContent = c.case_number;
    open.addEventListener('click', () => openCase(c.case_number).catch(fail));
    first.append(open);
    cell(row, STATES[c.state] || c.state);
    cell(row, c.request.length > 60 ? `${c.request.slice(0, 60)}…` : c.request);
    cell(row, when(c.accept_due));
    cell(row, when(c.reply_due));
    const flags = [...c.overdue.map((o) => `超期 overdue: ${o}`), ...c.supervision.map((s) => `督办 ${s}`)];
    cell(row, flags.join('; '));
    rows.append(row);
  }
  $('no-cases').hidden = cases.length > 0;
}

function fact(list, name, value) {
  const dt = document.createElement('dt');
  dt.textContent = name;
  const dd = document.createElement('dd');
  dd.textContent = value;
  list.append(dt, dd);
}

async function openCase(number) {
  const c = await api.get(`/agency/cases/${encodeURIComponent(number)}`);
  current = c;
  $('detail-title').textContent = `${c.case_number} · ${STATES[c.state] || c.state}`;
  const facts = $('detail-facts');
  facts.replaceChildren();
  fact(facts, '诉求 · Request', c.request);
  fact(facts, '地址 · Address', c.address || '—');
  fact(facts, '来电号码 · Caller', c.caller || '—');
  fact(facts, '分类 · Category', c.category);
  fact(facts, '签收时限 · Accept by', when(c.accept_due));
  fact(facts, '答复时限 · Reply by', when(c.reply_due));
  if (c.pending_extension_days) fact(facts, '延期申请 · Extension asked', `${c.pending_extension_days}: ${c.pending_extension_reason}`);
  if (c.result) fact(facts, '办理结果 · Result', c.result);
  if (c.supervision.length) fact(facts, '督办 · Supervised', c.supervision.join(', '));
  $('do-accept').hidden = !c.allowed.includes('Accept');
  $('extend-form').hidden = !c.allowed.includes('AskForMoreTime');
  $('reply-form').hidden = !c.allowed.includes('Reply');
  $('return-form').hidden = !c.allowed.includes('Return');
  const events = $('detail-events');
  events.replaceChildren();
  for (const e of c.events) {
    const item = document.createElement('li');
    item.textContent = `${when(e.at)} ${e.kind} (${e.actor})`;
    events.append(item);
  }
  $('case-detail').hidden = false;
}

async function act(path, body) {
  if (!current) return;
  alertText('');
  try {
    await api.post(`/agency/cases/${encodeURIComponent(current.case_number)}/${path}`, body);
    await openCase(current.case_number);
    await loadCases();
  } catch (error) {
    fail(error);
  }
}

async function start() {
  try {
    const me = await api.get('/agency/me');
    $('who').textContent = `${me.name_zh} · ${me.name_en} (${me.username})`;
    $('who').hidden = false;
    $('sign-out').hidden = false;
    show('view-cases');
    await loadCases();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      show('view-login');
      if (error.status === 403) alertText('此页面仅供承办单位账号使用 · This page is for agency accounts');
    } else {
      show('view-login');
      fail(error);
    }
  }
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  alertText('');
  try {
    await api.logIn($('username').value.trim(), $('password').value);
    $('password').value = '';
    await start();
  } catch (error) {
    fail(error);
  }
});

$('sign-out').addEventListener('click', async () => {
  try {
    await api.del('/agency/session');
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) fail(error);
  }
  api.setCsrf('');
  current = null;
  $('case-detail').hidden = true;
  $('who').hidden = true;
  $('sign-out').hidden = true;
  show('view-login');
});

$('filter-form').addEventListener('submit', (event) => {
  event.preventDefault();
  loadCases().catch(fail);
});
$('alert-close').addEventListener('click', () => alertText(''));
$('do-accept').addEventListener('click', () => act('accept'));
$('extend-form').addEventListener('submit', (event) => {
  event.preventDefault();
  act('extend', { reason: $('extend-reason').value, days: Number($('extend-days').value) });
});
$('reply-form').addEventListener('submit', (event) => {
  event.preventDefault();
  act('reply', { result: $('reply-result').value });
});
$('return-form').addEventListener('submit', (event) => {
  event.preventDefault();
  act('return', { reason: $('return-reason').value });
});
api.onUnauthorized = () => show('view-login');

start();
