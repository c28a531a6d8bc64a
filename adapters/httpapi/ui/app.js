// DREDGE console: a single-page front end for the DREDGE HTTP API.
// Plain ES2020, no build step; charts use the vendored uPlot (global `uPlot`).
'use strict';

const MODEL_TYPES = [
  'quasimoto_1d', 'quasimoto_4d', 'quasimoto_6d', 'quasimoto_ensemble',
  'quasimoto_ensemble_4d', 'quasimoto_ensemble_6d', 'interference_basis',
  'siren', 'rff', 'string_theory',
];
const KEY_STORAGE = 'dredge.apiKey';
const POLL_MS = 2000;
const INFER_CHUNK = 1000; // points per inference request when plotting
const FINE_POINTS = 200;  // points of the model's line along a 4D/6D slice axis

const $ = (sel) => document.querySelector(sel);

// el('td', {class: 'num', title: 't'}, 'text', childNode) builds an element.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c));
  return node;
}

// ---------------------------------------------------------------- errors

// ApiError carries the API's error triple (code, field, message) and the
// HTTP status, for errors from the service and for those found here.
class ApiError extends Error {
  constructor(code, message, field, status) {
    super(message);
    this.code = code || 'internal';
    this.field = field;
    this.status = status;
  }
}

function invalid(field, message) {
  return new ApiError('invalid_argument', `${field}: ${message}`, field);
}

function isAbort(err) {
  return err && err.name === 'AbortError';
}

function showError(err) {
  const e = err instanceof ApiError ? err : new ApiError('internal', String(err && err.message || err));
  const field = e.field ? ` (field ${e.field})` : '';
  $('#error').textContent = `${e.code}${field}: ${e.message}`;
  $('#error-bar').hidden = false;
  if (e.status === 401) $('#api-key').focus();
}

function clearError() {
  $('#error').textContent = ''; // kept empty when there is no error
  $('#error-bar').hidden = true;
}

// action wraps a user action: it clears the previous error, runs fn and
// shows what it throws (an abort is not an error).
function action(fn) {
  return async (ev) => {
    if (ev && ev.preventDefault) ev.preventDefault();
    clearError();
    try {
      await fn(ev);
    } catch (err) {
      if (!isAbort(err)) showError(err);
    }
  };
}

// ---------------------------------------------------------------- API

function authHeaders() {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

// request fetches path; network failures become "unavailable" errors.
async function request(path, init = {}) {
  try {
    return await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers || {}) } });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError('unavailable', err.message);
  }
}

// checkBody turns an API answer into its body or an ApiError.
function checkBody(body, status) {
  if (body && body.success !== false && status < 400) return body;
  if (body && typeof body === 'object' && body.error) {
    throw new ApiError(body.code, body.error, body.field, status);
  }
  throw new ApiError(status === 401 ? 'unauthenticated' : 'internal', `HTTP ${status}`, undefined, status);
}

async function readJSON(res) {
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(res.status >= 500 ? 'unavailable' : 'internal',
      `HTTP ${res.status}: ${text.slice(0, 200) || 'not JSON'}`, undefined, res.status);
  }
  return checkBody(body, res.status);
}

// api calls POST /v1/ops/<op> and returns the JSON body, or throws ApiError.
async function api(op, params = {}) {
  const res = await request(`/v1/ops/${op}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(params),
  });
  return readJSON(res);
}

async function apiGet(path) {
  return readJSON(await request(path));
}

// parseEvent reads one Server-Sent Event block into {event, data}.
function parseEvent(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const name = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') event = value;
    else if (name === 'data') data.push(value);
  }
  return { event, data: data.join('\n') };
}

// streamOp runs op with Accept: text/event-stream, calls onProgress with
// each progress event's data and returns the result event's body. fetch and
// a reader are used because EventSource cannot send the Authorization
// header; aborting signal cancels the operation on the server. An answer
// that is plain JSON (an error before the stream began, or a service
// without streaming) is taken as the result.
async function streamOp(op, params, { signal, onProgress }) {
  const res = await request(`/v1/ops/${op}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify(params),
    signal,
  });
  if (!(res.headers.get('Content-Type') || '').startsWith('text/event-stream')) return readJSON(res);

  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let result = null;
  const handle = (block) => {
    const { event, data } = parseEvent(block);
    if (!data) return;
    if (event === 'progress') onProgress(JSON.parse(data));
    else if (event === 'result') result = JSON.parse(data);
  };
  for (;;) {
    const { value, done } = await reader.read().catch((err) => {
      throw isAbort(err) ? err : new ApiError('unavailable', `the event stream broke: ${err.message}`);
    });
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let m;
    while ((m = /\r?\n\r?\n/.exec(buf))) { // events end with a blank line
      handle(buf.slice(0, m.index));
      buf = buf.slice(m.index + m[0].length);
    }
  }
  if (buf.trim()) handle(buf);
  if (result === null) throw new ApiError('unavailable', 'the event stream ended without a result');
  return checkBody(result, res.status);
}

// ---------------------------------------------------------------- formatting

function fmtNum(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(digits)));
}

// fmtLoss writes 0.0123 as "1.23e-2".
function fmtLoss(v) {
  return Number.isFinite(v) ? v.toExponential(2).replace('e+', 'e') : '–';
}

function fmtSeconds(s) {
  if (!Number.isFinite(s)) return '–';
  if (s === 0) return '0';
  if (s < 1e-3) return `${fmtNum(s * 1e6, 3)} µs`;
  if (s < 1) return `${fmtNum(s * 1e3, 3)} ms`;
  return `${fmtNum(s, 3)} s`;
}

// ---------------------------------------------------------------- charts

// Each chart container holds one uPlot instance (container.chart), and
// one ResizeObserver keeps it as wide as the container.
const resizer = new ResizeObserver((entries) => {
  for (const { target } of entries) {
    const w = target.clientWidth;
    if (target.chart && w > 0 && w !== target.chart.width) {
      target.chart.setSize({ width: w, height: target.chart.height });
    }
  }
});

function makeChart(container, opts, data) {
  if (container.chart) container.chart.destroy();
  container.textContent = '';
  container.hidden = false;
  // A container in a hidden view has no width yet; the observer resizes
  // the chart when the view is shown.
  const width = container.clientWidth || 600;
  container.chart = new uPlot({ height: 260, ...opts, width }, data, container);
  resizer.observe(container);
  return container.chart;
}

function dropChart(container) {
  if (container.chart) container.chart.destroy();
  container.chart = null;
  container.textContent = '';
}

const COLORS = ['#2563eb', '#dc2626']; // data, model
const lineSeries = (label, color, extra = {}) => ({ label, stroke: color, width: 1.5, ...extra });
// pointSeries draws markers only; ring: hollow (for data under a model's dots).
const pointSeries = (label, color, ring = false) => ({
  label, stroke: color, width: 0, paths: () => null,
  points: { show: true, size: ring ? 11 : 6, width: ring ? 2 : 1, stroke: color, fill: ring ? 'transparent' : color },
});

// logTicks labels a log axis at 1, 2 and 5 times powers of ten only.
function logTicks(u, splits) {
  return splits.map((v) => {
    const m = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
    if (![1, 2, 5].some((k) => Math.abs(m - k) < 1e-6)) return '';
    return v < 0.01 || v >= 1e4 ? v.toExponential(0).replace('e+', 'e') : String(Number(v.toPrecision(1)));
  });
}

// ---------------------------------------------------------------- views

const views = {}; // name → {show(), hide()}

function currentView() {
  const name = location.hash.slice(1);
  return views[name] ? name : 'overview';
}

function route() {
  const name = currentView();
  clearError(); // an error belongs to the view it came from
  for (const v of Object.keys(views)) {
    const on = v === name;
    $(`#view-${v}`).hidden = !on;
    const link = document.querySelector(`.nav a[data-view="${v}"]`);
    if (on) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
    if (!on && views[v].hide) views[v].hide();
  }
  if (views[name].show) views[name].show();
}

// ---------------------------------------------------------------- capabilities

let capabilities = null;

async function loadCapabilities() {
  try {
    capabilities = await api('list_capabilities');
  } catch (err) {
    showError(err);
    return;
  }
  $('#hdr-version').textContent = `v${capabilities.version}`;
  $('#ov-version').textContent = `${capabilities.version} · ${capabilities.protocol}`;
  renderDevice(capabilities.features && capabilities.features.device_info);
  const res = capabilities.resources || {};
  $('#ov-models').textContent = `${res.models_loaded ?? '–'} of ${res.max_models ?? '–'}`;
  const types = (capabilities.capabilities && capabilities.capabilities.models) || MODEL_TYPES;
  fillSelect($('#md-type'), types);
  fillSelect($('#pg-type'), types);
  try {
    const { cache_stats: cs } = await api('get_cache_stats');
    overview.backend = cs.backend_type;
    renderCache();
  } catch (err) {
    showError(err);
  }
}

function fillSelect(select, types) {
  const keep = select.value;
  select.replaceChildren(...types.map((t) => el('option', { value: t }, t)));
  if (types.includes(keep)) select.value = keep;
}

function renderDevice(d) {
  if (!d) return;
  const box = $('#ov-device');
  box.replaceChildren(
    el('div', { class: 'big' }, `${d.kind} · ${d.name}`),
    el('div', {}, `${d.workers} workers${d.simd ? ` · ${d.simd}` : ''}`),
    el('div', { class: 'muted small' }, d.reason || ''),
  );
}

// ---------------------------------------------------------------- overview

const overview = { timer: null, prev: null, backend: null, cache: null, stopped: false };

// parseMetrics reads Prometheus text into [{name, labels, value}].
function parseMetrics(text) {
  const out = [];
  const line = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /(\w+)="((?:[^"\\]|\\.)*)"/g;
  for (const l of text.split('\n')) {
    if (!l || l.startsWith('#')) continue;
    const m = line.exec(l);
    if (!m) continue;
    const labels = {};
    for (const lm of (m[2] || '').matchAll(label)) labels[lm[1]] = lm[2];
    out.push({ name: m[1], labels, value: parseValue(m[3]) });
  }
  return out;
}

function parseValue(s) {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

// summarize sums the series the overview uses over the labels it does not
// group by (tenant, backend, …).
function summarize(samples) {
  const s = { ops: {}, gauges: {}, hits: 0, misses: 0 };
  const op = (name) => (s.ops[name] ||= { outcomes: {}, buckets: {}, count: 0 });
  for (const { name, labels, value } of samples) {
    if (name === 'dredge_operations_total') {
      const o = op(labels.operation).outcomes;
      o[labels.outcome] = (o[labels.outcome] || 0) + value;
    } else if (name === 'dredge_operation_duration_seconds_bucket') {
      const b = op(labels.operation).buckets;
      b[labels.le] = (b[labels.le] || 0) + value;
    } else if (name === 'dredge_operation_duration_seconds_count') {
      op(labels.operation).count += value;
    } else if (name === 'dredge_cache_hits_total') {
      s.hits += value;
    } else if (name === 'dredge_cache_misses_total') {
      s.misses += value;
    } else if (['dredge_queue_depth', 'dredge_workers_busy', 'dredge_models_loaded',
      'dredge_heavy_calls', 'dredge_training_epochs_total'].includes(name)) {
      s.gauges[name] = (s.gauges[name] || 0) + value;
    }
  }
  return s;
}

// bucketList turns {le: cumulative count} into [[upper bound, count]] by le.
function bucketList(buckets) {
  return Object.entries(buckets).map(([le, c]) => [parseValue(le), c]).sort((a, b) => a[0] - b[0]);
}

// quantile estimates the q-quantile like Prometheus' histogram_quantile:
// linear interpolation inside the bucket holding the rank; a rank in the
// +Inf bucket answers the highest finite bound.
function quantile(q, list) {
  if (!list.length) return NaN;
  const total = list[list.length - 1][1];
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of list) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      if (count === prevCount) return le;
      return prevLe + (le - prevLe) * ((rank - prevCount) / (count - prevCount));
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

// deltaBuckets subtracts the previous poll's buckets (counter resets:
// the current value).
function deltaBuckets(cur, prev) {
  if (!prev) return null;
  const out = {};
  for (const [le, c] of Object.entries(cur)) {
    const d = c - (prev[le] || 0);
    out[le] = d < 0 ? c : d;
  }
  return out;
}

const opTotal = (o) => Object.values(o.outcomes).reduce((a, b) => a + b, 0) || o.count;

function renderOps(sum, prev, dt) {
  const rows = Object.keys(sum.ops).filter(Boolean).sort().map((name) => {
    const o = sum.ops[name];
    const p = prev && prev.ops[name];
    const total = opTotal(o);
    const delta = p ? total - opTotal(p) : null;
    const rate = delta === null || dt <= 0 ? null : Math.max(delta, 0) / dt;
    // Quantiles over the last interval when it saw requests, else all time.
    const d = deltaBuckets(o.buckets, p && p.buckets);
    const recent = d && bucketList(d);
    const useRecent = recent && recent.length && recent[recent.length - 1][1] > 0;
    const list = useRecent ? recent : bucketList(o.buckets);
    const qCell = (q) => el('td', useRecent ? { class: 'num' } : { class: 'num all-time', title: 'over all time' },
      fmtSeconds(quantile(q, list)));
    return el('tr', { 'data-op': name },
      el('td', {}, name),
      el('td', { class: 'num' }, rate === null ? '–' : fmtNum(rate, 3)),
      qCell(0.5), qCell(0.95), qCell(0.99),
      el('td', { class: 'num' }, String(total)));
  });
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'no operations yet')));
  $('#ov-ops tbody').replaceChildren(...rows);
}

function renderErrors(sum) {
  const byCode = {};
  for (const [op, o] of Object.entries(sum.ops)) {
    for (const [code, n] of Object.entries(o.outcomes)) {
      if (code === 'success' || !n) continue;
      (byCode[code] ||= {})[op] = n;
    }
  }
  const rows = Object.keys(byCode).sort().map((code) => {
    const ops = byCode[code];
    const total = Object.values(ops).reduce((a, b) => a + b, 0);
    const detail = Object.entries(ops).sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op}: ${n}`).join(', ');
    return el('tr', { 'data-code': code }, el('td', {}, code), el('td', { class: 'num' }, String(total)),
      el('td', { title: detail }, detail));
  });
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 3, class: 'muted' }, 'no errors')));
  $('#ov-errors tbody').replaceChildren(...rows);
}

function renderCache(sum) {
  if (sum) overview.cache = { hits: sum.hits, misses: sum.misses };
  const c = overview.cache;
  const parts = [overview.backend || 'cache'];
  if (c) {
    const lookups = c.hits + c.misses;
    parts.push(lookups ? `hit rate ${fmtNum((100 * c.hits) / lookups, 3)}%` : 'hit rate –');
    parts.push(`${c.hits} hits / ${lookups} lookups`);
  }
  $('#ov-cache').textContent = parts.join(' · ');
}

function renderGauges(g) {
  const v = (n) => (g[n] === undefined ? '–' : String(g[n]));
  $('#ov-queue').textContent = `depth ${v('dredge_queue_depth')} · workers busy ${v('dredge_workers_busy')}` +
    ` · heavy calls ${v('dredge_heavy_calls')}`;
  const max = capabilities && capabilities.resources ? ` of ${capabilities.resources.max_models}` : '';
  $('#ov-models').textContent = `${v('dredge_models_loaded')}${max} · ${v('dredge_training_epochs_total')} epochs trained`;
}

// pollMetrics reads /metrics only: polling operations would count the
// console itself in the operation metrics.
async function pollMetrics() {
  overview.timer = null;
  const note = $('#ov-metrics-note');
  try {
    const res = await request('/metrics', { headers: { Accept: 'text/plain' } });
    if (res.status === 404) {
      note.textContent = 'Metrics are disabled on this service (GET /metrics answered 404): no operation statistics.';
      note.hidden = false;
      return; // no point polling again
    }
    if (!res.ok) await readJSON(res); // throws the API's error
    note.hidden = true;
    const now = performance.now();
    const sum = summarize(parseMetrics(await res.text()));
    const prev = overview.prev;
    const dt = prev ? (now - prev.at) / 1000 : 0;
    renderOps(sum, prev && prev.sum, dt);
    renderErrors(sum);
    renderCache(sum);
    renderGauges(sum.gauges);
    overview.prev = { sum, at: now };
    $('#ov-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    showError(err);
    if (err.status === 401) return; // wait for a key (saving one restarts polling)
  }
  schedulePoll();
}

function schedulePoll() {
  if (overview.timer || overview.stopped || document.hidden) return;
  overview.timer = setTimeout(pollMetrics, POLL_MS);
}

views.overview = {
  show() {
    overview.stopped = false;
    overview.prev = null; // rates need two polls of this visit
    clearTimeout(overview.timer);
    overview.timer = null;
    pollMetrics();
  },
  hide() {
    overview.stopped = true;
    clearTimeout(overview.timer);
    overview.timer = null;
  },
};

// ---------------------------------------------------------------- input parsing

// parseNumber reads one number from an input; empty or malformed input is
// an invalid_argument error naming the API field.
function parseNumber(input, field) {
  const raw = input.value.trim();
  const v = Number(raw);
  if (raw === '' || !Number.isFinite(v)) throw invalid(field, `must be a number, got "${input.value}"`);
  return v;
}

function parseList(text, field) {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 1 && parts[0] === '') return [];
  return parts.map((s, i) => {
    const v = Number(s);
    if (s === '' || !Number.isFinite(v)) throw invalid(field, `value ${i + 1} ("${s}") is not a number`);
    return v;
  });
}

// ---------------------------------------------------------------- strings

async function runSpectrum() {
  const params = { max_modes: parseNumber($('#sp-modes'), 'max_modes'), dimensions: parseNumber($('#sp-dims'), 'dimensions') };
  const r = await api('string_spectrum', params);
  const energy = r.energy_spectrum || [];
  const modes = energy.map((_, i) => i + 1);
  // Bars read well for a few modes; many modes become a line.
  const few = energy.length <= 200;
  const series = few
    ? { label: 'energy', stroke: COLORS[0], fill: 'rgba(37,99,235,0.35)', paths: uPlot.paths.bars({ size: [0.6, 40] }), points: { show: false } }
    : lineSeries('energy', COLORS[0]);
  makeChart($('#sp-chart'), {
    scales: { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] } },
    axes: [{ label: 'mode number', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000] },
      { label: 'energy' }],
    series: [{ label: 'mode' }, series],
  }, [modes, energy]);
  const shown = energy.slice(0, 100).map((e, i) => `${i + 1}: ${fmtNum(e)}`).join(', ');
  const more = energy.length > 100 ? ` … (${energy.length - 100} more)` : '';
  $('#sp-values').textContent = `${r.dimensions} dimensions, ${r.max_modes} modes${r.cached ? ' (cached)' : ''} — ${shown}${more}`;
}

async function runUnified() {
  const params = {
    dredge_insight: $('#uf-insight').value,
    quasimoto_coords: parseList($('#uf-coords').value, 'quasimoto_coords'),
    string_modes: parseList($('#uf-modes').value, 'string_modes'),
  };
  const r = await api('unified_inference', params);
  const f = r.unified_field || {};
  $('#uf-amplitude').textContent = `coupled amplitude ${fmtNum(r.coupled_amplitude, 6)}${r.cached ? ' (cached)' : ''} · device ${r.device || '–'}`;
  makeChart($('#uf-chart'), {
    scales: { x: { time: false } },
    axes: [{ label: 'x' }, { label: 'field amplitude' }],
    series: [{ label: 'x' }, lineSeries('field amplitude', COLORS[0])],
  }, [f.x_coordinates || [], f.field_amplitudes || []]);
}

views.strings = {};

// ---------------------------------------------------------------- models

async function refreshModels() {
  const { models = [] } = await api('list_models');
  const rows = models.map((m) => el('tr', { 'data-model-id': m.model_id },
    el('td', {}, el('code', {}, m.model_id)),
    el('td', {}, m.model_type),
    el('td', { class: 'num' }, String(m.n_parameters)),
    el('td', { class: 'config' }, el('code', {}, JSON.stringify(m.config || {}).replace(/,(?=")/g, ', '))),
    el('td', { class: 'actions' },
      el('button', { type: 'button', class: 'md-inspect', 'data-model-id': m.model_id }, 'Inspect'),
      el('button', { type: 'button', class: 'md-unload', 'data-model-id': m.model_id }, 'Unload'))));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'no models loaded')));
  $('#md-table tbody').replaceChildren(...rows);
}

function parseConfig(text) {
  let cfg;
  try {
    cfg = JSON.parse(text.trim() || '{}');
  } catch (err) {
    throw invalid('config', `not valid JSON: ${err.message}`);
  }
  if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) throw invalid('config', 'must be a JSON object');
  return cfg;
}

async function loadModel() {
  const params = { model_type: $('#md-type').value, config: parseConfig($('#md-config').value) };
  const r = await api('load_model', params);
  $('#md-status').textContent = `loaded ${r.model_id} (${r.n_parameters} parameters)`;
  await refreshModels();
}

async function unloadModel(id) {
  await api('unload_model', { model_id: id });
  $('#md-status').textContent = `unloaded ${id}`;
  if ($('#md-params').dataset.modelId === id) {
    $('#md-params').replaceChildren(el('p', { class: 'muted' }, `${id} was unloaded.`));
    delete $('#md-params').dataset.modelId;
  }
  await refreshModels();
}

const flatten = (v) => (Array.isArray(v) ? v.flat(Infinity) : [v]);

async function inspectModel(id) {
  const r = await api('get_parameters', { model_id: id });
  const names = Object.keys(r.parameters || {});
  const rows = names.map((name) => {
    const p = r.parameters[name];
    const values = flatten(p.value);
    const first = values.slice(0, 6).map((x) => fmtNum(x)).join(', ') + (values.length > 6 ? ', …' : '');
    return el('tr', {},
      el('td', {}, el('code', {}, name)),
      el('td', {}, `[${(p.shape || []).join(', ')}]`),
      el('td', { class: 'num' }, String(values.length)),
      el('td', {}, first));
  });
  const box = $('#md-params');
  box.dataset.modelId = id;
  box.replaceChildren(
    el('p', {}, el('code', {}, r.model_id), ` · ${r.model_type} · ${r.n_parameters} parameters`),
    el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, el('th', {}, 'Name'), el('th', {}, 'Shape'), el('th', { class: 'num' }, 'Count'), el('th', {}, 'First values'))),
      el('tbody', {}, ...rows))),
    el('details', {}, el('summary', {}, 'Full JSON'), el('pre', {}, compactJSON(r.parameters))));
}

// compactJSON indents objects but keeps each innermost array on one line.
function compactJSON(v) {
  return JSON.stringify(v, null, 2).replace(/\[\s+([^[\]{}]*?)\s+\]/g, (_, inner) => `[${inner.replace(/\s+/g, ' ')}]`);
}

views.models = {
  show() {
    refreshModels().catch(showError);
  },
};

// ---------------------------------------------------------------- playground

const pg = { modelId: null, modelType: null, config: {}, slice: null, controller: null, xs: [], losses: [] };

const isEnsemble = (t) => t.startsWith('quasimoto_ensemble');

// inputSpec lists a model's inference inputs in the order the points
// textarea takes them, as [name, width]: width 1 is a number per point,
// width k > 1 a row of k numbers (siren, rff, string_theory and the
// interference basis take "x" as rows when their config says so).
function inputSpec(type, config = {}) {
  const names = (...n) => n.map((k) => [k, 1]);
  if (type.endsWith('_4d')) return names('x', 'y', 'z', 't');
  if (type.endsWith('_6d')) return names('x1', 'x2', 'x3', 'x4', 'x5', 't');
  if (type === 'siren' || type === 'rff') return [['x', config.input_dim || 1]];
  if (type === 'string_theory') return [['x', config.dimensions || 10]];
  if (type === 'interference_basis') return [['x', config.dim || 1], ['t', 1]];
  return names('x', 't'); // quasimoto_1d, quasimoto_ensemble
}

// columnLabels names each value of a point: "x", "t", or "x[0]"… for rows.
function columnLabels(spec) {
  return spec.flatMap(([name, w]) => (w === 1 ? [name] : Array.from({ length: w }, (_, i) => `${name}[${i}]`)));
}

function updatePointsHint() {
  const type = pg.modelType || $('#pg-type').value;
  const labels = columnLabels(inputSpec(type, pg.modelType ? pg.config : {}));
  $('#pg-points').placeholder = labels.length > 6 ? `${labels.length} values: ${labels[0]}, …, ${labels[labels.length - 1]}` : labels.join(', ');
  $('#pg-points-hint').textContent = `(${pg.modelId || type}: ${labels.join(', ')})`;
  $('#pg-nwaves').disabled = !isEnsemble($('#pg-type').value);
}

function setStatus(state, text) {
  const s = $('#pg-status');
  s.dataset.state = state;
  s.textContent = text;
}

function setTraining(on) {
  $('#pg-train').disabled = on;
  $('#pg-stop').disabled = !on;
}

function resetLossChart() {
  pg.xs = [];
  pg.losses = [];
  const box = $('#pg-loss-chart');
  box.dataset.count = '0';
  delete box.dataset.firstLoss;
  delete box.dataset.lastLoss;
  makeChart(box, {
    scales: { x: { time: false }, y: { distr: 3 } },
    axes: [{ label: 'epoch' }, { label: 'loss', values: logTicks, size: 60 }],
    series: [{ label: 'epoch' }, lineSeries('loss', COLORS[1], { points: { show: true, size: 3 } })],
  }, [[], []]);
}

function addLoss(epoch, loss) {
  if (!(loss > 0)) return; // a log scale has no place for loss ≤ 0
  pg.xs.push(epoch);
  pg.losses.push(loss);
  const box = $('#pg-loss-chart');
  box.dataset.count = String(pg.xs.length);
  box.dataset.firstLoss = String(pg.losses[0]);
  box.dataset.lastLoss = String(loss);
  box.chart.setData([pg.xs, pg.losses]);
}

// inferAll runs inference on named input columns in requests of at most
// INFER_CHUNK points and joins the outputs.
async function inferAll(modelId, inputs) {
  const n = Object.values(inputs)[0].length;
  const out = [];
  for (let i = 0; i < n; i += INFER_CHUNK) {
    const part = {};
    for (const [k, v] of Object.entries(inputs)) part[k] = v.slice(i, i + INFER_CHUNK);
    const r = await api('inference', { model_id: modelId, inputs: part });
    out.push(...r.output);
  }
  return out;
}

// loadSlice fetches the type's data-set slice; null when the type has none.
async function loadSlice(type) {
  try {
    return await apiGet(`/v1/datasets/${encodeURIComponent(type)}`);
  } catch (err) {
    if (err.status === 400 && err.code === 'invalid_argument') return null;
    throw err;
  }
}

// fineLine builds inputs for FINE_POINTS points along the slice's axis with
// the other inputs at their fixed values.
function fineLine(slice) {
  const xs = slice.inputs[slice.axis];
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const axis = Array.from({ length: FINE_POINTS }, (_, i) => lo + ((hi - lo) * i) / (FINE_POINTS - 1));
  const inputs = {};
  for (const k of Object.keys(slice.inputs)) {
    inputs[k] = k === slice.axis ? axis : axis.map(() => (slice.fixed && slice.fixed[k]) || 0);
  }
  return inputs;
}

// mergeSeries puts series with different x values on one sorted x array
// (uPlot's data shares x), with null where a series has no value.
function mergeSeries(parts) {
  const xs = [...new Set(parts.flatMap((p) => p.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = parts.map((p) => {
    const col = new Array(xs.length).fill(null);
    p.x.forEach((x, i) => { col[index.get(x)] = p.y[i]; });
    return col;
  });
  return [xs, ...ys];
}

async function drawFit() {
  const slice = pg.slice;
  const box = $('#pg-fit-chart');
  if (!slice) return;
  const x = slice.inputs[slice.axis];
  const dense = x.length > 100; // the 1D chirp: lines; 4D/6D slices: points plus a fine line
  const parts = [{ x, y: slice.target }, { x, y: await inferAll(pg.modelId, slice.inputs) }];
  const series = [{ label: slice.axis },
    dense ? lineSeries('target', COLORS[0]) : pointSeries('target', COLORS[0], true),
    dense ? lineSeries('model', COLORS[1]) : pointSeries('model at data points', COLORS[1])];
  if (!dense) {
    const fine = fineLine(slice);
    parts.push({ x: fine[slice.axis], y: await inferAll(pg.modelId, fine) });
    series.push(lineSeries('model', COLORS[1], { spanGaps: true, dash: [4, 3] }));
  }
  makeChart(box, {
    scales: { x: { time: false } },
    axes: [{ label: slice.axis }, { label: 'value' }],
    series,
  }, mergeSeries(parts));
}

function describeSlice(slice) {
  const fixed = Object.entries(slice.fixed || {}).map(([k, v]) => `${k} = ${fmtNum(v)}`).join(', ');
  return `${slice.name} (${slice.n} points): ${slice.inputs[slice.axis].length} points along ${slice.axis}` +
    (fixed ? ` at ${fixed}` : '');
}

function trainingParams() {
  const type = $('#pg-type').value;
  const config = { seed: parseNumber($('#pg-seed'), 'config.seed') };
  if (isEnsemble(type)) config.n_waves = parseNumber($('#pg-nwaves'), 'config.n_waves');
  return {
    type, config,
    epochs: parseNumber($('#pg-epochs'), 'config.epochs'),
    lr: parseNumber($('#pg-lr'), 'config.learning_rate'),
  };
}

async function train() {
  const p = trainingParams();
  setTraining(true);
  pg.controller = new AbortController();
  const { signal } = pg.controller;
  try {
    setStatus('training', `loading ${p.type}…`);
    $('#pg-final-loss').textContent = '';
    const m = await api('load_model', { model_type: p.type, config: p.config });
    Object.assign(pg, { modelId: m.model_id, modelType: m.model_type, config: m.config || {} });
    $('#pg-model').textContent = m.model_id;
    $('#pg-model-info').textContent = `(${m.model_type}, ${m.n_parameters} parameters)`;
    updatePointsHint();
    $('#pg-output').textContent = '';

    // A data set that fails to load (other than "none for this type")
    // is shown as an error, and the training goes on without the fit.
    pg.slice = await loadSlice(p.type).catch((err) => { showError(err); return null; });
    $('#pg-fit-note').textContent = pg.slice ? describeSlice(pg.slice) : `${p.type} has no plottable data set.`;
    if (pg.slice) await drawFit().catch(showError);
    else dropChart($('#pg-fit-chart'));
    $('#pg-fit-chart').hidden = !pg.slice;

    resetLossChart();
    setStatus('training', `epoch 0/${p.epochs}`);
    const r = await streamOp('benchmark',
      { model_id: pg.modelId, config: { epochs: p.epochs, learning_rate: p.lr } },
      { signal, onProgress: onProgress });
    $('#pg-stop').disabled = true; // the training is over; the fit follows
    finishTraining(r);
    if (pg.slice) await drawFit().catch(showError);
  } catch (err) {
    if (isAbort(err)) {
      setStatus('stopped', `stopped at epoch ${pg.xs[pg.xs.length - 1] || 0}/${p.epochs} (the model keeps its previous parameters)`);
    } else {
      setStatus('error', `error: ${err.code || ''} ${err.message}`);
      throw err;
    }
  } finally {
    setTraining(false);
    pg.controller = null;
  }
}

function onProgress(ev) {
  addLoss(ev.done, ev.loss);
  setStatus('training', `epoch ${ev.done}/${ev.total} · loss ${fmtLoss(ev.loss)}`);
}

function finishTraining(r) {
  // Without progress events (a service that does not stream) plot the
  // result's loss samples, spread over the epochs.
  if (!pg.xs.length && Array.isArray(r.losses)) {
    const k = r.losses.length;
    r.losses.forEach((l, i) => addLoss(k > 1 ? Math.round((i * r.epochs) / (k - 1)) : r.epochs, l));
  }
  setStatus('done', `done: epoch ${r.epochs}/${r.epochs} · loss ${fmtLoss(r.final_loss)}`);
  $('#pg-final-loss').textContent = `final loss ${fmtNum(r.final_loss, 3)} after ${r.epochs} epochs in ` +
    `${fmtSeconds(r.seconds)} on ${r.device}` + (Number.isFinite(r.initial_loss) ? ` (initial ${fmtNum(r.initial_loss, 3)})` : '');
}

function stopTraining() {
  if (pg.controller) pg.controller.abort();
}

// parsePoints reads the textarea: one point per line, comma-separated
// values in the order of the model's inputs.
function parsePoints(text, labels) {
  const rows = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const vals = line.split(',').map((s) => s.trim());
    if (vals.length !== labels.length) {
      throw invalid('points', `line ${i + 1}: expected ${labels.length} values (${labels.join(', ')}), got ${vals.length}`);
    }
    rows.push(vals.map((s) => {
      const v = Number(s);
      if (s === '' || !Number.isFinite(v)) throw invalid('points', `line ${i + 1}: "${s}" is not a number`);
      return v;
    }));
  });
  if (!rows.length) throw invalid('points', 'enter at least one point');
  return rows;
}

// pointsToInputs turns parsed points into the named inputs of inference.
function pointsToInputs(rows, spec) {
  const inputs = {};
  let j = 0;
  for (const [name, w] of spec) {
    const col = j;
    inputs[name] = rows.map((r) => (w === 1 ? r[col] : r.slice(col, col + w)));
    j += w;
  }
  return inputs;
}

async function inferPoints() {
  $('#pg-output').textContent = '';
  if (!pg.modelId) throw new ApiError('failed_precondition', 'no model yet: train one first', 'model_id');
  const spec = inputSpec(pg.modelType, pg.config);
  const labels = columnLabels(spec);
  const rows = parsePoints($('#pg-points').value, labels);
  const r = await api('inference', { model_id: pg.modelId, inputs: pointsToInputs(rows, spec) });
  const head = el('tr', {}, el('th', {}, `point (${labels.join(', ')})`), el('th', { class: 'num' }, 'output'));
  const body = rows.map((row, i) => el('tr', {},
    el('td', {}, row.join(', ')),
    el('td', { class: 'num' }, fmtNum(r.output[i], 6))));
  $('#pg-output').replaceChildren(el('table', {}, el('thead', {}, head), el('tbody', {}, ...body)));
}

views.playground = {};

// ---------------------------------------------------------------- wiring

function saveKey(ev) {
  ev.preventDefault();
  const key = $('#api-key').value.trim();
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  clearError();
  loadCapabilities();
  route(); // re-runs the current view's refresh (and the metrics polling)
}

function init() {
  $('#api-key').value = sessionStorage.getItem(KEY_STORAGE) || '';
  $('#api-key-form').addEventListener('submit', saveKey);
  $('#error-close').addEventListener('click', clearError);

  $('#sp-form').addEventListener('submit', action(runSpectrum));
  $('#uf-form').addEventListener('submit', action(runUnified));

  $('#md-form').addEventListener('submit', action(loadModel));
  $('#md-refresh').addEventListener('click', action(refreshModels));
  $('#md-table').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-model-id]');
    if (!b) return;
    const id = b.dataset.modelId;
    action(() => (b.classList.contains('md-unload') ? unloadModel(id) : inspectModel(id)))(ev);
  });

  $('#pg-form').addEventListener('submit', action(train));
  $('#pg-stop').addEventListener('click', stopTraining);
  $('#pg-type').addEventListener('change', updatePointsHint);
  $('#pg-infer-form').addEventListener('submit', action(inferPoints));

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && currentView() === 'overview') schedulePoll();
  });
  window.addEventListener('hashchange', route);

  fillSelect($('#md-type'), MODEL_TYPES);
  fillSelect($('#pg-type'), MODEL_TYPES);
  $('#pg-type').value = 'quasimoto_ensemble';
  updatePointsHint();
  loadCapabilities();
  route();
}

init();
