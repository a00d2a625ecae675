// What the staff pages share, the desk (/desk, desk.js) and the wallboard (/wall, wall.js):
// the frame around the page (its views, the sign-in form, signing in and out, the language
// button), the words for an API error, the pause reasons' labels, and the live event stream
// (SSE) with its reconnect. What is a page's own (what it shows once a user is signed in,
// what it stops when they sign out) it passes in.

import { applyI18n, has, lang, setLang, t } from './i18n.js';
import { $, el, setText, show } from './views.js';

/** The words for an API error (``ApiError``): its id's string, else the general one. */
export function errorText(err) {
  const key = `error.${err.id}`;
  const vars = { message: err.message, n: err.retryAfter || 60 };
  return has(key) ? t(key, vars) : t('error.other', vars);
}

// -- the pause reasons' labels ------------------------------------------------------------------

/** pause-reasons.json (served next to this module, under /desk/ or /wall/), or null. */
export function fetchPauseReasons() {
  return fetch(new URL('pause-reasons.json', import.meta.url), { cache: 'no-cache' })
    .then((r) => (r.ok ? r.json() : null)).catch(() => null);
}

/** code -> {code, zh, en} for every reason the file names (offered, or only labelled). */
export function reasonLabels(file) {
  const entries = file ? [...(file.reasons || []), ...(file.labels_only || [])] : [];
  return Object.fromEntries(entries.map((r) => [r.code, r]));
}

/** A reason's label in the page's language from ``labels``; ``fallback`` for one not listed. */
export function pauseReasonLabel(labels, code, fallback = code) {
  const entry = labels[code];
  return entry ? (entry[lang()] || entry.en || code) : fallback;
}

// -- the live event stream ------------------------------------------------------------------------

/** The page's event stream: ``up`` while it is open, ``tried`` once it has opened or failed.
 * One the browser gave up on (an error answer) is opened again after 1, 2, 4 ... 30 s, once
 * GET /me says the session holds (a 401 there ends it: ``api.onUnauthorized``). */
export class LiveStream {
  /** ``url()``: the stream's address; ``active()``: whether it is wanted (someone is signed
   * in); ``events``: kind -> listener; ``onOpen()``, ``onError()``: after ``up`` changed. */
  constructor(api, { url, active, events = {}, onOpen = () => {}, onError = () => {} }) {
    Object.assign(this, { api, url, active, events, onOpen, onError });
    this.source = null;
    this.up = false;
    this.tried = false;
    this.retry = 0;
    this.timer = null;
  }

  get isOpen() {
    return Boolean(this.source) && this.source.readyState === EventSource.OPEN;
  }

  open() {
    this.close();
    if (!this.active()) return;
    const source = new EventSource(this.url());
    this.source = source;
    source.onopen = () => {
      this.up = true;
      this.tried = true;
      this.retry = 0;
      this.onOpen();
    };
    source.onerror = () => {
      this.up = false;
      this.tried = true; // from now on, not open means down
      this.onError();
      // CONNECTING: the browser retries by itself. CLOSED: it gave up (an error answer): ours.
      if (source.readyState === EventSource.CLOSED && this.source === source) this.reconnect();
    };
    for (const [kind, listener] of Object.entries(this.events)) source.addEventListener(kind, listener);
  }

  close() {
    if (this.source) this.source.close();
    this.source = null;
    this.up = false;
  }

  /** Closed for good (the user signed out): nothing reopens it, and the next user starts afresh. */
  stop() {
    this.close();
    window.clearTimeout(this.timer);
    this.tried = false;
    this.retry = 0;
  }

  reconnect() {
    window.clearTimeout(this.timer);
    const delay = Math.min(30000, 1000 * 2 ** this.retry);
    this.retry += 1;
    this.timer = window.setTimeout(async () => {
      try {
        await this.api.get('/me'); // a 401 ends the session (api.onUnauthorized)
      } catch {
        if (!this.active()) return;
      }
      if (this.active()) this.open();
    }, delay);
  }

  /** The header's word on the stream in ``node``: live, down (the page polls every ``pollMs``),
   * connecting, or (``unavailable``) the data behind it down. */
  render(node, pollMs, unavailable = false) {
    let text;
    if (unavailable) text = t('stream_unavailable');
    else if (this.up) text = t('stream_live');
    else if (this.tried) text = t('stream_down', { n: pollMs / 1000 });
    else text = t('stream_connecting');
    setText(node, text);
    node.classList.toggle('down', !this.up || unavailable);
  }
}

// -- the frame: views, signing in and out, the language -------------------------------------------

/** The frame of a staff page. Its HTML has the header's #who, #stream, #lang and #sign-out,
 * and in <main> the views #view-loading and #view-<page>; the frame adds #view-login and
 * #view-other between them. */
export class PageShell {
  /** ``page``: the name of the page's own view; ``enter(me)``: show the page to the signed-in
   * user (GET /me's answer); ``stop()``: stop what runs for them (streams, timers);
   * ``signedIn()``: whether someone is; ``onView(name)``: what else the view ``name`` shows or
   * hides; ``onLanguage()``: write again what the page wrote in the other language. */
  constructor(api, { page, enter, stop, signedIn, onView = () => {}, onLanguage = () => {} }) {
    Object.assign(this, { api, page, enter, stop, signedIn, onView, onLanguage });
  }

  /** Build and wire the frame, wire the page (``wirePage``), then resume the session this
   * browser holds, or ask to sign in. ``needCsrf``: a session whose CSRF value this tab never
   * saw (so it could change nothing) is asked to sign in again. */
  async boot({ wirePage = () => {}, needCsrf = false } = {}) {
    this.build();
    applyI18n();
    this.wire();
    wirePage();
    let me;
    try {
      me = await this.api.get('/me');
    } catch {
      this.showLogin('');
      return;
    }
    if (needCsrf && !this.api.csrf) {
      this.showLogin(t('relogin'));
      $('username').value = me.username;
      $('password').focus();
      return;
    }
    await this.enter(me);
  }

  /** The views with the sign-in form and with the "not your page" card (the page's strings
   * say whose page it is), after #view-loading. */
  build() {
    const login = el('section', { id: 'view-login', class: 'center', hidden: true },
      el('form', { id: 'login-form', class: 'card login', noValidate: true },
        el('h2', { 'data-i18n': 'login_heading' }),
        el('p', { id: 'login-note', class: 'note', hidden: true }),
        el('label', { for: 'username', 'data-i18n': 'username' }),
        el('input', { id: 'username', name: 'username', autocomplete: 'username', maxLength: 64, required: true,
          autofocus: true }),
        el('label', { for: 'password', 'data-i18n': 'password' }),
        el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password',
          maxLength: 1024, required: true }),
        el('p', { id: 'login-error', class: 'error', role: 'alert' }),
        el('button', { type: 'submit', id: 'login-submit', class: 'primary', 'data-i18n': 'sign_in' })));
    const other = el('section', { id: 'view-other', class: 'center', hidden: true },
      el('div', { class: 'card login' }, el('h2', { 'data-i18n': 'other_heading' }), el('p', { id: 'other-text' })));
    $('view-loading').after(login, other);
  }

  wire() {
    this.api.onUnauthorized = () => this.sessionEnded();
    $('lang').addEventListener('click', () => {
      setLang(lang() === 'zh' ? 'en' : 'zh');
      applyI18n();
      this.onLanguage();
    });
    $('sign-out').addEventListener('click', () => this.signOut());
    $('login-form').addEventListener('submit', (event) => this.signIn(event));
  }

  view(name) {
    for (const id of ['view-loading', 'view-login', 'view-other', `view-${this.page}`]) {
      show($(id), id === `view-${name}`);
    }
    const signedIn = name === this.page || name === 'other';
    show($('sign-out'), signedIn);
    show($('who'), signedIn);
    show($('stream'), name === this.page);
    this.onView(name);
  }

  showLogin(note) {
    this.view('login');
    setText($('login-note'), note || '');
    show($('login-note'), Boolean(note));
    setText($('login-error'), '');
    $('username').focus();
  }

  /** A supervisors' page's gate (the wallboard, the review): the header names the user; a
   * user whose role is not in ``roles`` gets the "not your page" card. Whether the page opens. */
  admit(me, roles) {
    this.sayWho(me);
    if (roles.has(me.role)) return true;
    this.showOther(me.role);
    $('sign-out').focus();
    return false;
  }

  /** The header's user and role (again after a language switch); nobody signed in: nothing. */
  sayWho(me) {
    if (me) setText($('who'), t('who_staff', { user: me.username, role: t(`role_${me.role}`) }));
  }

  /** The page is not for the user's ``role``: it says so. */
  showOther(role) {
    setText($('other-text'), t('other_text', { role: t(`role_${role}`) }));
    this.view('other');
  }

  async signIn(event) {
    event.preventDefault();
    const username = $('username').value.trim();
    const password = $('password').value;
    if (!username || !password) {
      setText($('login-error'), t('error.bad_credentials'));
      (username ? $('password') : $('username')).focus();
      return;
    }
    const button = $('login-submit');
    button.disabled = true;
    setText(button, t('signing_in'));
    try {
      const me = await this.api.logIn(username, password);
      $('password').value = '';
      await this.enter(me);
    } catch (err) {
      setText($('login-error'), errorText(err));
      $('password').focus();
    } finally {
      button.disabled = false;
      setText(button, t('sign_in'));
    }
  }

  async signOut() {
    try {
      await this.api.logOut();
    } catch { /* the session is gone either way */ }
    this.stop();
    this.showLogin(t('signed_out'));
  }

  /** The session ended (a 401 from the API, or the stream's ``session_ended``). */
  sessionEnded() {
    if (!this.signedIn()) return;
    this.stop();
    this.api.setCsrf('');
    this.showLogin(t('session_over'));
  }
}
