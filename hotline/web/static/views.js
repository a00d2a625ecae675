// Small DOM helpers and the pure parts of the desk's views: what phase a call is in, which
// three-party buttons it allows, how durations and the screen pop's fields read. Nothing here
// sets innerHTML: every text from the API goes in as text.

import { lang, t } from './i18n.js';

export const $ = (id) => document.getElementById(id);

/** An element with attributes (``class``, ``text``, ``data-*``, properties) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name === 'class') node.className = value;
    else if (name.startsWith('data-') || name.startsWith('aria-') || name === 'role' || name === 'for') {
      node.setAttribute(name, value === true ? '' : String(value));
    } else node[name] = value;
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** "0:07", "12:34", "1:02:03". */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** An ISO time (the API's) or epoch seconds as epoch milliseconds; null when absent. */
export function ms(value) {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return value * 1000;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

export function timeOfDay(epochMs) {
  return new Date(epochMs).toLocaleTimeString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
}

export function dateTime(value) {
  const at = ms(value);
  if (at === null) return '';
  return new Date(at).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
}

// -- calls ----------------------------------------------------------------------------------

// The agent's states in which a call is theirs to act on.
const RINGING = new Set(['reserved', 'ringing']);

/** What the desk shows: idle, ringing, talking, wrap_up, or the three-party state
 * (consult_dialing, consulting, conference_dialing, conference, blind_dialing, ...). */
export function phaseOf(agent, call) {
  const state = agent ? agent.state : '';
  if (state === 'wrap_up') return 'wrap_up';
  if (RINGING.has(state)) return 'ringing';
  if (call) {
    const three = call.three_party && call.three_party.state;
    return three && three !== 'two_party' ? three : 'talking';
  }
  return state === 'on_call' ? 'talking' : 'idle';
}

/** Phases in which the call taker is on the call (the three-party buttons may apply). */
export const ON_CALL_PHASES = new Set(['talking', 'consult_dialing', 'consulting', 'conference_dialing',
  'conference', 'agent_recalling']);
export const HOLD_PHASES = new Set(['consult_dialing', 'consulting']);

// Each operation of routes/calls.py, by the name of the legs table's event (calls/legs.py)
// that the server lists in ``allowed``.
export const OPS = {
  consult: 'Consult',
  conference: 'Conference',
  transfer: 'BlindTransfer',
  join: 'Join',
  leave: 'Leave',
  'transfer/complete': 'CompleteTransfer',
  cancel: 'CancelConsult',
  'hangup-agency': 'HangUpAgency',
};
export const DIAL_OPS = new Set(['consult', 'conference', 'transfer']);

// When the server does not send ``allowed``: the desk events the legs table accepts in each
// three-party state (calls/legs.py TRANSITIONS, the citizen still on the line).
const FALLBACK_ALLOWED = {
  '': ['Consult', 'Conference', 'BlindTransfer'],
  two_party: ['Consult', 'Conference', 'BlindTransfer'],
  consult_dialing: ['CancelConsult'],
  consulting: ['Join', 'CompleteTransfer', 'CancelConsult'],
  conference_dialing: ['HangUpAgency'],
  conference: ['Leave', 'HangUpAgency'],
};

const BY_ROUTE_NAME = Object.fromEntries(Object.entries(OPS).flatMap(([route, event]) => [
  [route, event], [route.replace('/', '_').replace('-', '_'), event], [event, event], [event.toLowerCase(), event],
]));
BY_ROUTE_NAME.complete_transfer = 'CompleteTransfer';
BY_ROUTE_NAME.hangup_agency = 'HangUpAgency';

/** The legs events the call allows now: the server's ``allowed`` list (on the call or its
 * three_party, by event or route name) when it sends one, else the table above. */
export function allowedEvents(call) {
  if (!call) return new Set();
  const listed = Array.isArray(call.allowed) ? call.allowed
    : call.three_party && Array.isArray(call.three_party.allowed) ? call.three_party.allowed : null;
  if (listed) return new Set(listed.map((name) => BY_ROUTE_NAME[name] || name));
  const state = (call.three_party && call.three_party.state) || '';
  return new Set(FALLBACK_ALLOWED[state] || []);
}

// -- the screen pop ---------------------------------------------------------------------------

/** The language code as a name in the page's language ("zh" -> 中文 / Chinese). */
export function languageName(code) {
  if (!code) return t('unknown');
  try {
    const names = new Intl.DisplayNames([lang() === 'zh' ? 'zh-CN' : 'en'], { type: 'language' });
    return `${names.of(code)} (${code})`;
  } catch {
    return code;
  }
}

/** The IVR path as one line: the stored steps are {kind, flow, node, value} (ivr/events.py
 * PathStep); plain strings are shown as they are. */
export function ivrPath(path) {
  if (!path) return t('unknown');
  if (typeof path === 'string') return path || t('unknown');
  if (!Array.isArray(path) || !path.length) return t('unknown');
  return path.map((step) => {
    if (typeof step !== 'object' || step === null) return String(step);
    const where = step.node || step.flow || step.kind || '?';
    return step.value ? `${where}=${step.value}` : where;
  }).join(' › ');
}

/** Seconds the caller waited: ``wait_seconds`` when the server gives it, else answer (or
 * now) minus queue entry. */
export function waitSeconds(pop, nowMs) {
  if (typeof pop.wait_seconds === 'number') return pop.wait_seconds;
  const queued = ms(pop.queued_at ?? pop.arrived_at);
  if (queued === null) return null;
  const answered = ms(pop.answered_at);
  return ((answered ?? nowMs) - queued) / 1000;
}

// -- the knowledge base's Markdown, as DOM nodes -----------------------------------------------

function inline(text) {
  // **bold** only; everything else stays text.
  return text.split(/(\*\*[^*]+\*\*)/).filter(Boolean).map((part) => (
    part.startsWith('**') && part.endsWith('**') && part.length > 4 ? el('strong', { text: part.slice(2, -2) }) : part));
}

/** The subset of Markdown the articles use (headings, "-" lists, paragraphs, **bold**),
 * built as elements: no HTML from the text is ever parsed. */
export function markdown(source) {
  const nodes = [];
  let list = null;
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) nodes.push(el('p', {}, inline(paragraph.join(' '))));
    paragraph = [];
  };
  for (const raw of String(source || '').split('\n')) {
    const line = raw.trim();
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    const item = /^[-*]\s+(.*)$/.exec(line);
    if (!line) {
      flush();
      list = null;
    } else if (heading) {
      flush();
      list = null;
      nodes.push(el('h4', {}, inline(heading[1])));
    } else if (item) {
      flush();
      if (!list) {
        list = el('ul');
        nodes.push(list);
      }
      list.append(el('li', {}, inline(item[1])));
    } else {
      list = null;
      paragraph.push(line);
    }
  }
  flush();
  return nodes;
}
