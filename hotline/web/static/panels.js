// The work-order form, the caller's history and the knowledge base, over their API routes:
// GET /taxonomy (classes > subclasses > items, and the districts), GET/PUT
// /calls/{id}/work-order, GET /calls/{id}/history?days=30 (routes/work_orders.py),
// GET /knowledge?q=, /knowledge/{article_id}, /knowledge/suggest?category= (routes/knowledge.py).
// A server that lacks a route (absent from its OpenAPI document, or answering 404 "no such
// resource" / 405: ApiError.missingRoute) gets "not available" in that panel; the call
// handling never depends on these panels.

import { has, lang, t } from './i18n.js';
import { $, dateTime, el, markdown, setText, show } from './views.js';

/** A node's name in the page's language (``name_zh``/``name_en``, or ``zh``/``en``). */
function name(item, zhKey = 'name_zh', enKey = 'name_en') {
  if (!item) return '';
  const zh = item[zhKey] ?? item.zh;
  const en = item[enKey] ?? item.en;
  return (lang() === 'zh' ? zh || en : en || zh) || item.code || item.id || '';
}

const children = (node) => node.subclasses || node.items || node.children || [];

/** The taxonomy's items (the leaves a case is filed under), each with its path. */
function leavesOf(answer) {
  const roots = Array.isArray(answer) ? answer : (answer && (answer.classes || answer.children)) || [];
  const out = [];
  const walk = (node, trail) => {
    const path = [...trail, node];
    const below = children(node);
    if (below.length) for (const child of below) walk(child, path);
    else out.push({ node, path });
  };
  for (const root of roots) walk(root, []);
  return out;
}

/** The routes the server has, from its OpenAPI document (null = unknown: ask and see). */
export function featuresOf(document) {
  if (!document || !document.paths) return null;
  const paths = Object.keys(document.paths);
  const has_ = (pattern) => paths.some((p) => pattern.test(p));
  return {
    taxonomy: has_(/^\/api\/v1\/taxonomy$/),
    workOrder: has_(/^\/api\/v1\/calls\/\{[^}]+\}\/work-order$/),
    history: has_(/^\/api\/v1\/calls\/\{[^}]+\}\/history$/),
    knowledge: has_(/^\/api\/v1\/knowledge$/),
    article: has_(/^\/api\/v1\/knowledge\/\{[^}]+\}$/),
    suggest: has_(/^\/api\/v1\/knowledge\/suggest$/),
  };
}

export class Panels {
  /** ``api``: the client; ``onError(err)`` shows an error; ``onHistory(calls)`` gives the
   * desk the caller's past calls (the screen pop's repeat count). */
  constructor(api, { onError, onHistory }) {
    this.api = api;
    this.onError = onError;
    this.onHistory = onHistory;
    this.features = null;
    this.leaves = null; // [{node, path}] or null when the taxonomy is not available
    this.districts = null; // [{district_id, name_zh, name_en}] or null
    this.agencies = [];
    this.callId = null;
    this.caller = '';
    this.historyItems = null;
    this.available = { workOrder: null, history: null, knowledge: null };
    this.#wire();
  }

  #off(feature) {
    return this.features !== null && this.features[feature] === false;
  }

  #wire() {
    $('wo-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.save();
    });
    $('wo-category-filter').addEventListener('input', () => this.#fillCategories());
    $('wo-category').addEventListener('change', () => this.#categoryChosen());
    for (const id of ['wo-agency', 'wo-urgency']) {
      $(id).addEventListener('change', () => { $(id).dataset.touched = '1'; });
    }
    for (const radio of document.querySelectorAll('input[name="wo-handling"]')) {
      radio.addEventListener('change', () => { $('wo-form').dataset.handlingTouched = '1'; });
    }
    $('kb-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.search();
    });
    $('kb-back').addEventListener('click', () => {
      show($('kb-article'), false);
      show($('kb-results'), true);
      $('kb-q').focus();
    });
  }

  /** Learn which routes exist; load the taxonomy and districts; keep the agency list. */
  async start(features, agencies) {
    this.features = features;
    this.agencies = agencies || [];
    this.available.knowledge = this.#off('knowledge') ? false : null;
    if (!this.#off('taxonomy')) {
      try {
        const answer = await this.api.get('/taxonomy');
        this.leaves = leavesOf(answer);
        this.districts = (answer && answer.districts) || null;
        // the class that covers each IVR business domain: suggestions before a category is chosen
        this.domainClass = new Map();
        for (const klass of (answer && answer.classes) || []) {
          for (const domain of klass.domains || []) this.domainClass.set(domain, klass.code);
        }
      } catch (err) {
        if (!err.missingRoute) this.onError(err);
      }
    }
    this.#fillCategories();
    this.#fillDistricts();
    this.#fillAgencies();
    this.render();
  }

  // -- the call the panels are about ----------------------------------------------------------

  /** The panels follow ``call`` (the current call, or the last one; null: none). */
  async setCall(call) {
    const callId = call ? call.call_id : null;
    this.caller = (call && call.caller) || '';
    if (call && Array.isArray(call.skills) && call.skills.length) this.skills = call.skills;
    if (callId === this.callId) return;
    this.callId = callId;
    this.skills = (call && Array.isArray(call.skills)) ? call.skills : [];
    this.historyItems = null;
    this.#resetForm();
    this.render();
    if (!callId) return;
    await Promise.all([this.#loadWorkOrder(callId), this.#loadHistory(callId), this.suggest()]);
  }

  #resetForm() {
    const form = $('wo-form');
    form.reset();
    delete form.dataset.handlingTouched;
    for (const id of ['wo-agency', 'wo-urgency']) delete $(id).dataset.touched;
    for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
    $('wo-category-filter').value = '';
    this.#fillCategories();
    setText($('wo-result'), '');
    $('kb-suggest').replaceChildren();
    show($('kb-suggest-heading'), false);
  }

  async #loadWorkOrder(callId) {
    if (this.#off('workOrder')) {
      this.available.workOrder = false;
      this.render();
      return;
    }
    try {
      const order = await this.api.get(`/calls/${encodeURIComponent(callId)}/work-order`);
      this.available.workOrder = true;
      if (callId === this.callId && order) this.#fillForm(order);
    } catch (err) {
      if (err.missingRoute) this.available.workOrder = false;
      else if (err.status === 404) this.available.workOrder = true; // none filed yet
      else this.onError(err);
    }
    this.render();
  }

  async #loadHistory(callId) {
    if (this.#off('history')) {
      this.available.history = false;
      this.render();
      return;
    }
    try {
      const answer = await this.api.get(`/calls/${encodeURIComponent(callId)}/history`, { days: 30 });
      const calls = Array.isArray(answer) ? answer : (answer && (answer.calls || answer.items)) || [];
      this.available.history = true;
      if (callId === this.callId) {
        this.historyItems = calls.filter((c) => c.call_id !== callId);
        this.onHistory(this.historyItems, answer && answer.caller);
      }
    } catch (err) {
      if (err.missingRoute) this.available.history = false;
      else if (err.status !== 404) this.onError(err);
    }
    this.render();
  }

  /** The agency the three-party panel dialled: the form's responsible agency, unless the
   * call taker picked one. */
  proposeAgency(agencyId) {
    if (!agencyId || $('wo-agency').dataset.touched) return;
    $('wo-agency').value = agencyId;
  }

  // -- the form ---------------------------------------------------------------------------------

  #leaf(code) {
    return (this.leaves || []).find((l) => l.node.code === code) || null;
  }

  #fillCategories() {
    const select = $('wo-category');
    const chosen = select.value;
    const words = $('wo-category-filter').value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const options = [el('option', { value: '', text: t('category_none') })];
    for (const { node, path } of this.leaves || []) {
      const text = path.map((n) => `${n.code} ${n.name_zh ?? n.zh ?? ''} ${n.name_en ?? n.en ?? ''}`).join(' ').toLowerCase();
      if (node.code !== chosen && !words.every((w) => text.includes(w))) continue;
      const label = `${path.map((n) => name(n)).join(' › ')}${node.emergency ? ` (${t('emergency_item')})` : ''}`;
      options.push(el('option', { value: node.code, text: label }));
    }
    select.replaceChildren(...options);
    select.value = chosen;
  }

  #categoryChosen() {
    const leaf = this.#leaf($('wo-category').value);
    if (leaf) {
      if (leaf.node.emergency && !$('wo-urgency').dataset.touched) $('wo-urgency').value = 'emergency';
      const usual = (leaf.node.agencies || [])[0];
      if (usual) this.proposeAgency(usual);
    }
    this.suggest();
  }

  #fillDistricts() {
    const select = $('wo-district');
    const chosen = select.value;
    select.replaceChildren(el('option', { value: '', text: t('category_none') }),
      ...(this.districts || []).map((d) => el('option', { value: d.district_id, text: name(d) })));
    select.value = chosen;
  }

  #fillAgencies() {
    const select = $('wo-agency');
    const chosen = select.value;
    select.replaceChildren(el('option', { value: '', text: t('agency_none') }),
      ...this.agencies.map((a) => el('option', { value: a.agency_id, text: name(a) })));
    select.value = chosen;
  }

  #fillForm(order) {
    const category = order.category || '';
    if (this.leaves) {
      $('wo-category').value = category;
      if ($('wo-category').value !== category) { // not in the list (filtered, or no longer in the taxonomy)
        const path = order.category_path && (lang() === 'zh' ? order.category_path.path_zh : order.category_path.path_en);
        $('wo-category').append(el('option', { value: category, text: (path && path.length ? path.join(' › ') : category) }));
        $('wo-category').value = category;
      }
    } else $('wo-category-text').value = category;
    $('wo-request').value = order.request || '';
    if (this.districts) $('wo-district').value = order.district || '';
    else $('wo-district-text').value = order.district || '';
    $('wo-urgency').value = order.urgency || '';
    $('wo-urgency').dataset.touched = '1';
    document.querySelector(`input[name="wo-handling"][value="${order.handling === 'transferred' ? 'transferred' : 'direct'}"]`)
      .checked = true;
    $('wo-agency').value = order.agency_id || '';
    if (order.agency_id) $('wo-agency').dataset.touched = '1';
    $('wo-notes').value = order.notes || '';
    this.#saved(order);
  }

  #saved(order) {
    const parts = [t('saved', { case: (order && order.case_number) || '—' })];
    if (order && order.status) parts.push(has(`wo_status.${order.status}`) ? t(`wo_status.${order.status}`) : order.status);
    if (order && order.due_at) parts.push(t('due_at', { time: dateTime(order.due_at) }));
    setText($('wo-result'), parts.join(' · '));
  }

  #body() {
    const optional = (value) => value || null;
    return {
      category: this.leaves ? $('wo-category').value : $('wo-category-text').value.trim(),
      request: $('wo-request').value.trim(),
      district: this.districts ? $('wo-district').value : $('wo-district-text').value.trim(),
      handling: document.querySelector('input[name="wo-handling"]:checked').value,
      agency_id: optional($('wo-agency').value),
      urgency: optional($('wo-urgency').value),
      notes: $('wo-notes').value.trim(),
    };
  }

  /** Mark the fields the server (or the checks here) refused; focus the first. */
  #invalid(fields) {
    const ids = { category: this.leaves ? 'wo-category' : 'wo-category-text', request: 'wo-request',
      district: this.districts ? 'wo-district' : 'wo-district-text', agency_id: 'wo-agency', urgency: 'wo-urgency',
      notes: 'wo-notes' };
    for (const node of $('wo-form').querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
    const nodes = fields.map((f) => ids[f] && $(ids[f])).filter(Boolean);
    for (const node of nodes) node.setAttribute('aria-invalid', 'true');
    if (nodes.length) nodes[0].focus();
  }

  async save() {
    if (!this.callId) return;
    const body = this.#body();
    const missing = ['category', 'request', 'district'].filter((f) => !body[f]);
    if (body.handling === 'transferred' && !body.agency_id) missing.push('agency_id');
    if (missing.length) {
      const labels = { category: t('category'), request: t('request'), district: t('district'), agency_id: t('agency') };
      setText($('wo-result'), t('need_fields', { fields: missing.map((f) => labels[f]).join('、') }));
      this.#invalid(missing);
      return;
    }
    const button = $('wo-save');
    button.disabled = true;
    setText($('wo-result'), t('saving'));
    try {
      const saved = await this.api.put(`/calls/${encodeURIComponent(this.callId)}/work-order`, body);
      this.#invalid([]);
      this.#saved(saved);
    } catch (err) {
      setText($('wo-result'), '');
      if (err.missingRoute) {
        this.available.workOrder = false;
        this.render();
      } else {
        const fields = ((err.body && err.body.details) || []).map((d) => (d.loc || [])[1]).filter(Boolean);
        this.#invalid(fields);
        this.onError(err);
      }
    } finally {
      button.disabled = false;
    }
  }

  // -- knowledge ------------------------------------------------------------------------------

  async search() {
    const q = $('kb-q').value.trim();
    if (!q) return;
    try {
      const answer = await this.api.get('/knowledge', { q });
      this.available.knowledge = true;
      this.#list($('kb-results'), Array.isArray(answer) ? answer : (answer && answer.items) || [], true);
      show($('kb-article'), false);
      show($('kb-results'), true);
    } catch (err) {
      if (err.missingRoute) this.available.knowledge = false;
      else this.onError(err);
    }
    this.render();
  }

  async suggest() {
    // the work order's category once chosen; before that, the class of the call's IVR domain
    const chosen = this.leaves ? $('wo-category').value : '';
    const fromCall = (this.skills || []).map((d) => (this.domainClass || new Map()).get(d)).find(Boolean) || '';
    const category = chosen || fromCall;
    const list = $('kb-suggest');
    if (!category || this.#off('suggest') || this.available.knowledge === false) {
      list.replaceChildren();
      show($('kb-suggest-heading'), false);
      return;
    }
    try {
      const answer = await this.api.get('/knowledge/suggest', { category });
      const items = Array.isArray(answer) ? answer : (answer && answer.items) || [];
      this.#list(list, items, false);
      show($('kb-suggest-heading'), items.length > 0);
    } catch (err) {
      list.replaceChildren();
      show($('kb-suggest-heading'), false);
      if (!err.missingRoute && err.status !== 404) this.onError(err);
    }
  }

  #list(target, items, sayNone) {
    target.replaceChildren();
    if (!items.length && sayNone) target.append(el('li', { class: 'muted', text: t('kb_none') }));
    for (const item of items) {
      const id = item.article_id ?? item.id;
      const title = name(item, 'title_zh', 'title_en') || item.title || String(id);
      const button = el('button', { type: 'button', class: 'link', text: title });
      button.addEventListener('click', () => this.open(id, title));
      const stale = item.status && item.status !== 'valid';
      target.append(el('li', {}, button,
        stale ? el('span', { class: 'tag closed', text: t(`kb_status.${item.status}`) }) : null,
        item.snippet ? el('p', { class: 'snippet', text: item.snippet }) : null));
    }
  }

  async open(id, title) {
    if (this.#off('article')) return;
    try {
      const article = await this.api.get(`/knowledge/${encodeURIComponent(id)}`);
      setText($('kb-article-title'), name(article, 'title_zh', 'title_en') || article.title || title);
      const text = article.body ?? (lang() === 'zh' ? article.body_zh || article.body_en : article.body_en || article.body_zh) ?? '';
      const agencies = (article.agencies || []).map((agencyId) => {
        const agency = this.agencies.find((a) => a.agency_id === agencyId);
        return agency ? name(agency) : agencyId;
      });
      const stale = article.status && article.status !== 'valid';
      $('kb-article-body').replaceChildren(
        ...(stale ? [el('p', { class: 'tag closed', text: t(`kb_status.${article.status}`) })] : []),
        ...markdown(text),
        ...(agencies.length ? [el('p', { class: 'muted', text: `${t('kb_agencies')}: ${agencies.join('、')}` })] : []));
      show($('kb-results'), false);
      show($('kb-article'), true);
      $('kb-article').focus();
    } catch (err) {
      if (!err.missingRoute) this.onError(err);
    }
  }

  // -- what shows ---------------------------------------------------------------------------------

  #historyItem(call) {
    const order = call.work_order || null;
    const category = order && order.category;
    const categoryText = category && typeof category === 'object'
      ? ((lang() === 'zh' ? category.path_zh : category.path_en) || []).join(' › ') || category.code
      : category || call.category || '';
    const status = (order && order.status) || call.status;
    const outcome = !order && call.outcome
      ? `${t('outcome')}: ${has(`outcome.${call.outcome}`) ? t(`outcome.${call.outcome}`) : call.outcome}` : '';
    const meta = [dateTime(call.arrived_at ?? call.at ?? call.started_at), categoryText,
      status && `${t('status')}: ${has(`wo_status.${status}`) ? t(`wo_status.${status}`) : status}`, outcome];
    const request = (order && order.request) || call.request;
    const notes = (order && order.notes) || call.notes;
    return el('li', {},
      el('p', { class: 'meta' },
        el('strong', { text: (order && order.case_number) || call.case_number || '—' }), ' ',
        el('span', { text: meta.filter(Boolean).join(' · ') })),
      request ? el('p', { text: request }) : null,
      notes ? el('p', { class: 'muted', text: notes }) : null);
  }

  render() {
    const noCall = !this.callId;
    // the work order
    const woOff = this.available.workOrder === false || this.#off('workOrder');
    show($('wo-form'), !woOff && !noCall);
    setText($('wo-status'), woOff ? t('wo_unavailable') : noCall ? t('wo_no_call')
      : t('wo_for_call', { caller: this.caller || '—' }));
    const tree = Boolean(this.leaves);
    show($('wo-category'), tree);
    show($('wo-category-filter'), tree);
    show(document.querySelector('label[for="wo-category-filter"]'), tree);
    show($('wo-category-text'), !tree);
    $('wo-category-label').htmlFor = tree ? 'wo-category' : 'wo-category-text';
    show($('wo-district'), Boolean(this.districts));
    show($('wo-district-text'), !this.districts);
    $('wo-district-label').htmlFor = this.districts ? 'wo-district' : 'wo-district-text';
    // the history
    const hOff = this.available.history === false || this.#off('history');
    if (hOff) setText($('history-status'), t('history_unavailable'));
    else if (noCall) setText($('history-status'), t('history_no_call'));
    else if (this.historyItems && !this.historyItems.length) setText($('history-status'), t('history_none'));
    else setText($('history-status'), '');
    $('history-list').replaceChildren(...((!hOff && this.historyItems) || []).map((c) => this.#historyItem(c)));
    // the knowledge base
    const kOff = this.available.knowledge === false;
    show($('kb-form'), !kOff);
    setText($('kb-status'), kOff ? t('kb_unavailable') : '');
  }

  /** After a language switch: the labels that come from data. */
  relabel() {
    this.#fillCategories();
    this.#fillDistricts();
    this.#fillAgencies();
    this.render();
  }
}
