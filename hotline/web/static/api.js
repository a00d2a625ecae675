// The HTTP API's client. JSON in and out; the session rides in the HttpOnly cookie the login
// sets (the bearer token of the login's answer is dropped, never stored); every request
// other than GET carries X-CSRF-Token, the value the login returned (auth.py), kept in
// sessionStorage so a reload of this tab keeps working. Each answer's Date header keeps an
// estimate of the server's clock (timers count from the server's times). Errors come as
// ApiError with the API's stable id (errors.py).

const BASE = '/api/v1';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const CSRF_KEY = 'hotline.desk.csrf';

export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || null;
    this.id = (body && body.error) || (status === 0 ? 'network' : `http_${status}`);
    this.retryAfter = retryAfter;
  }

  /** The route does not exist on this server (a feature not deployed yet): an unknown
   * route answers 404 "no such resource", a known path with another method 405. */
  get missingRoute() {
    return (this.status === 404 && (!this.body || this.body.message === 'no such resource')) || this.status === 405;
  }
}

function readCsrf() {
  try {
    return sessionStorage.getItem(CSRF_KEY) || '';
  } catch {
    return '';
  }
}

export class Api {
  constructor() {
    this.csrf = readCsrf();
    this.offsetMs = 0; // server clock minus this browser's
    this.onUnauthorized = null; // called on a 401 from any request but the login
  }

  /** The server's time now, in epoch milliseconds (estimated). */
  now() {
    return Date.now() + this.offsetMs;
  }

  setCsrf(value) {
    this.csrf = value || '';
    try {
      if (this.csrf) sessionStorage.setItem(CSRF_KEY, this.csrf);
      else sessionStorage.removeItem(CSRF_KEY);
    } catch { /* storage blocked: memory only */ }
  }

  async request(method, path, { body, query } = {}) {
    let url = BASE + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) {
        if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
      }
      if ([...params].length) url += `?${params}`;
    }
    const headers = { Accept: 'application/json' };
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (!SAFE.has(method) && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    const sent = Date.now();
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      throw new ApiError(0, { error: 'network', message: String(err) });
    }
    this.#clock(response, sent);
    let data = null;
    if (response.status !== 204 && (response.headers.get('content-type') || '').includes('json')) {
      try {
        data = await response.json();
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const error = new ApiError(response.status, data, Number(response.headers.get('retry-after')) || null);
      if (response.status === 401 && path !== '/session' && this.onUnauthorized) this.onUnauthorized(error);
      throw error;
    }
    return data;
  }

  #clock(response, sent) {
    const date = Date.parse(response.headers.get('date') || '');
    if (Number.isNaN(date)) return;
    // Date has whole seconds: the server's time was in [date, date + 1 s) when it answered.
    const offset = date + 500 - (sent + Date.now()) / 2;
    if (Math.abs(offset - this.offsetMs) > 1500) this.offsetMs = offset;
  }

  get(path, query) {
    return this.request('GET', path, { query });
  }

  post(path, body, query) {
    return this.request('POST', path, { body, query });
  }

  put(path, body, query) {
    return this.request('PUT', path, { body, query });
  }

  del(path) {
    return this.request('DELETE', path);
  }

  /** Log in: the cookie is set by the answer; the CSRF value is kept for later requests. */
  async logIn(username, password) {
    const session = await this.post('/session', { username, password });
    this.setCsrf(session.csrf);
    return { role: session.role, agent_id: session.agent_id, username };
  }

  async logOut() {
    try {
      await this.del('/session');
    } finally {
      this.setCsrf('');
    }
  }
}
