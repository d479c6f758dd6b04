// Corvee's dashboard: plain JavaScript, no framework, nothing loaded from elsewhere. It reads the
// broker's JSON API (docs/http-api.md) and draws three pages, routed by the URL's hash:
//   #/              overview: counters, a live chart, queues, workers, recent failures
//   #/jobs?task=&state=&before=   jobs, newest first, with filters
//   #/jobs/ID       one job: its fields, payload, result, failures and history
// Every request goes through api(); every piece of text from the broker reaches the page through
// textContent (el() below), never as HTML.
'use strict';

const POLL_MS = 1500;          // how often the open page asks again
const CHART_POINTS = 120;      // samples kept for the chart: three minutes at POLL_MS
const RATE_WINDOW_MS = 10000;  // per-queue finish rates are averaged over this long
const FINISHED_SAMPLE = 100;   // recently finished jobs read per poll, for latency and per-queue rates
const FINAL_STATES = new Set(['succeeded', 'dead', 'cancelled']);
const STATES = ['queued', 'scheduled', 'running', 'retrying', 'succeeded', 'dead', 'cancelled'];

// ---------------------------------------------------------------------------------------------
// The API

class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// The bearer token, when one is stored (localStorage 'corvee.token'): a broker run with
// --auth-tokens answers 401 without it, and the page then asks for one (showSignIn).
function storedToken() {
  try {
    return window.localStorage.getItem('corvee.token');
  } catch {
    return null;
  }
}

function storeToken(token) {
  try {
    if (token) window.localStorage.setItem('corvee.token', token);
    else window.localStorage.removeItem('corvee.token');
  } catch {
    // Storage refused (a private window): the token lasts until the page is reloaded.
  }
  memoryToken = token || null;
}
let memoryToken = null;

// Shows the token form, with why the broker refused (no token, or one it does not know).
function showSignIn(message) {
  const form = document.getElementById('signin');
  if (!form || !form.hidden) return;
  setText(document.getElementById('signin-why'), message || '');
  form.hidden = false;
  document.getElementById('token').focus();
}

function setUpSignIn() {
  const form = document.getElementById('signin');
  const signout = document.getElementById('signout');
  if (!form || !signout) return;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    storeToken(document.getElementById('token').value.trim());
    window.location.reload();
  });
  signout.hidden = !storedToken();
  signout.addEventListener('click', () => {
    storeToken(null);
    window.location.reload();
  });
}

// Every request to the broker. Resolves to the parsed JSON body; rejects with an ApiError holding
// the broker's {"error": {"code", "message"}} (or a description of what went wrong on the way).
async function api(method, path, body) {
  const headers = {Accept: 'application/json'};
  const token = storedToken() || memoryToken;
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = {method, headers, cache: 'no-store'};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    setLink(false);
    throw new ApiError('unreachable', 'the broker did not answer (' + e.message + ')', 0);
  }
  setLink(true);
  const text = await response.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = null;
  }
  if (!response.ok) {
    const error = doc && doc.error ? doc.error : {code: 'http_' + response.status, message: text.trim() || response.statusText};
    if (response.status === 401) showSignIn(error.message);
    throw new ApiError(error.code, error.message, response.status);
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Small DOM helpers

// el('td', {class: 'num'}, 'text', childNode, ...): an element; strings become text nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function replaceChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

// Keeps a tbody's rows in step with `items`, one row per key, reusing the rows (and so the buttons
// in them) that stay, so a refresh does not pull a button from under the pointer.
function syncRows(tbody, items, keyOf, make, update, emptyText, columns) {
  const existing = new Map();
  for (const row of Array.from(tbody.rows)) {
    if (row.dataset.key !== undefined) existing.set(row.dataset.key, row);
    else row.remove();
  }
  let previous = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let row = existing.get(key);
    if (row) existing.delete(key);
    else {
      row = make(item);
      row.dataset.key = key;
    }
    update(row, item);
    const wanted = previous ? previous.nextSibling : tbody.firstChild;
    if (wanted !== row) tbody.insertBefore(row, wanted);
    previous = row;
  }
  for (const row of existing.values()) row.remove();
  if (items.length === 0) tbody.append(el('tr', {}, el('td', {class: 'empty', colspan: columns}, emptyText)));
}

function setText(node, text) {
  const value = text === undefined || text === null ? '' : String(text);
  if (node.textContent !== value) node.textContent = value;
}

function stateBadge(state) {
  return el('span', {class: 'state ' + state, 'data-state': state}, state);
}

function jobLink(id) {
  return el('a', {href: '#/jobs/' + id, class: 'id'}, '#' + id);
}

// ---------------------------------------------------------------------------------------------
// Formatting

function pad(n, width) {
  return String(n).padStart(width || 2, '0');
}

function formatTime(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' +
      pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
}

function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 0) ms = 0;
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + Math.floor((ms % 60000) / 1000) + ' s';
  if (ms < 86400000) return Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' min';
  return Math.floor(ms / 86400000) + ' d ' + Math.floor((ms % 86400000) / 3600000) + ' h';
}

function formatAgo(ms) {
  if (ms === null || ms === undefined) return '—';
  return formatDuration(Date.now() - ms) + ' ago';
}

function formatRate(perSecond) {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return '—';
  if (perSecond >= 100) return Math.round(perSecond) + '/s';
  return perSecond.toFixed(1) + '/s';
}

function between(from, to) {
  return from && to ? to - from : null;
}

// A payload or result as JSON carries it: UTF-8 text, or base64 with `NAME_encoding`.
function bytesBlock(doc, name, testid) {
  if (doc[name] === undefined || doc[name] === null) return el('span', {class: 'hint'}, 'none');
  const base64 = doc[name + '_encoding'] === 'base64';
  return el('div', {},
            base64 ? el('span', {class: 'hint'}, 'not UTF-8; base64:') : null,
            el('pre', {class: 'bytes', 'data-testid': testid}, String(doc[name])));
}

// ---------------------------------------------------------------------------------------------
// Errors and notices, under the header

const errorsBox = () => document.getElementById('errors');

// Shows an error until dismissed; `key` replaces an earlier one with the same key (a poll that
// keeps failing shows one line, not one per attempt).
function showError(error, context, key) {
  const box = errorsBox();
  const code = error instanceof ApiError ? error.code : 'error';
  const message = error && error.message ? error.message : String(error);
  if (key) clearError(key);
  const line = el('div', {class: 'error', 'data-testid': 'error', 'data-key': key},
                  el('code', {}, code), el('span', {}, (context ? context + ': ' : '') + message),
                  el('button', {onclick: () => line.remove(), title: 'Dismiss'}, '×'));
  box.append(line);
}

function clearError(key) {
  for (const line of errorsBox().querySelectorAll('.error')) {
    if (line.dataset.key === key) line.remove();
  }
}

function flash(message) {
  const line = el('div', {class: 'notice', 'data-testid': 'flash'}, message);
  errorsBox().append(line);
  setTimeout(() => line.remove(), 4000);
}

function setLink(ok) {
  const link = document.getElementById('link');
  if (!link) return;
  link.className = 'link ' + (ok ? 'ok' : 'down');
  setText(link, ok ? 'connected' : 'unreachable');
}

// Runs an action the user asked for; reports its error, or `done(result)`.
async function act(button, what, run, done) {
  if (button) button.disabled = true;
  try {
    const result = await run();
    if (done) done(result);
    refreshNow();
  } catch (e) {
    showError(e, what);
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Polling: the open page's refresh function runs every POLL_MS, never two at once.

let currentView = null;

function startView(view) {
  if (currentView) currentView.stopped = true;
  currentView = view;
  view.stopped = false;
  const tick = async () => {
    if (view.stopped) return;
    try {
      await view.refresh();
      clearError('poll');
    } catch (e) {
      if (!view.stopped) showError(e, 'refreshing', 'poll');
    }
    if (!view.stopped && view.poll !== false) view.timer = setTimeout(tick, POLL_MS);
  };
  view.tick = tick;
  tick();
}

// Asks again now (after an action), rather than at the next tick.
function refreshNow() {
  const view = currentView;
  if (!view || view.stopped) return;
  clearTimeout(view.timer);
  view.tick();
}

// ---------------------------------------------------------------------------------------------
// Overview: counters, chart, queues, workers, recent failures

// Samples for the chart and the rates, kept across page changes. Each holds the broker's uptime
// (its own clock), the finished counters, and the latencies of the jobs that finished since the
// sample before.
const samples = [];
let finishedSeen = null;  // ids of the jobs in the last sample's "recently finished" lists

function median(values) {
  if (values.length === 0) return null;
  const sorted = values.slice().sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// Turns one reading of /v1/stats and the recently finished jobs into a sample.
function takeSample(stats, succeeded, dead) {
  const now = stats.uptime_ms;
  const finished = stats.jobs.succeeded + stats.jobs.dead;
  const last = samples[samples.length - 1];
  // A restarted broker (uptime or counters went back) starts the series again.
  if (last && (now < last.uptime || finished < last.finished)) {
    samples.length = 0;
    finishedSeen = null;
  }
  const fresh = [];
  const ids = new Set();
  for (const job of succeeded.concat(dead)) {
    ids.add(job.id);
    if (finishedSeen && !finishedSeen.has(job.id)) fresh.push(job);
  }
  // When every listed job is new, more may have finished than the lists hold: the per-queue
  // rates are then lower bounds.
  const saturated = finishedSeen !== null &&
      ((succeeded.length >= FINISHED_SAMPLE && succeeded.every((job) => !finishedSeen.has(job.id))) ||
       (dead.length >= FINISHED_SAMPLE && dead.every((job) => !finishedSeen.has(job.id))));
  finishedSeen = ids;
  const byTask = {};
  for (const job of fresh) byTask[job.task] = (byTask[job.task] || 0) + 1;
  const ok = fresh.filter((job) => job.state === 'succeeded');
  const sample = {
    uptime: now,
    succeeded: stats.jobs.succeeded,
    dead: stats.jobs.dead,
    finished,
    byTask,
    saturated,
    wait: median(ok.map((job) => between(job.submitted_ms, job.started_ms)).filter((v) => v !== null)),
    run: median(ok.map((job) => between(job.started_ms, job.finished_ms)).filter((v) => v !== null)),
    succeededRate: null,
    deadRate: null,
  };
  if (last && now > last.uptime && samples.length > 0) {
    const seconds = (now - last.uptime) / 1000;
    sample.succeededRate = (sample.succeeded - last.succeeded) / seconds;
    sample.deadRate = (sample.dead - last.dead) / seconds;
  }
  samples.push(sample);
  while (samples.length > CHART_POINTS) samples.shift();
  return sample;
}

// Jobs finished per second over the last RATE_WINDOW_MS, overall (exact: the broker's counters)
// and per task (from the recently finished lists).
function recentRates() {
  const last = samples[samples.length - 1];
  if (!last) return {total: null, byTask: {}, saturated: false};
  let first = last;
  const byTask = {};
  let saturated = false;
  for (let i = samples.length - 1; i > 0; --i) {
    const sample = samples[i];
    if (last.uptime - samples[i - 1].uptime > RATE_WINDOW_MS) break;
    first = samples[i - 1];
    for (const [task, count] of Object.entries(sample.byTask)) byTask[task] = (byTask[task] || 0) + count;
    saturated = saturated || sample.saturated;
  }
  const seconds = (last.uptime - first.uptime) / 1000;
  if (seconds <= 0) return {total: null, byTask: {}, saturated: false};
  for (const task of Object.keys(byTask)) byTask[task] /= seconds;
  return {total: (last.finished - first.finished) / seconds, byTask, saturated};
}

function card(label, testid, extraClass) {
  const value = el('div', {class: 'value', 'data-testid': testid}, '—');
  return {node: el('div', {class: 'card ' + (extraClass || '')}, el('div', {class: 'label'}, label), value), value};
}

// A line chart on a canvas: `series` is [{values, colour, label}], all on one y axis from 0.
function drawChart(canvas, series, unit) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (width === 0 || height === 0) return;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const style = getComputedStyle(document.documentElement);
  const muted = style.getPropertyValue('--muted').trim() || '#888';
  const line = style.getPropertyValue('--line').trim() || '#ddd';
  let max = 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  max = niceCeiling(max);
  const left = 52, right = 6, top = 8, bottom = 18;
  const plotW = width - left - right, plotH = height - top - bottom;
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = muted;
  ctx.strokeStyle = line;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; ++i) {
    const y = top + plotH - (plotH * i) / 4;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y) + 0.5);
    ctx.lineTo(left + plotW, Math.round(y) + 0.5);
    ctx.stroke();
    ctx.fillText(unit((max * i) / 4), left - 6, y);
  }
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(Math.round((CHART_POINTS * POLL_MS) / 60000) + ' min ago', left, height - 4);
  ctx.textAlign = 'right';
  ctx.fillText('now', left + plotW, height - 4);
  const step = plotW / (CHART_POINTS - 1);
  for (const s of series) {
    ctx.strokeStyle = style.getPropertyValue(s.colour).trim();
    ctx.lineWidth = 2;
    ctx.beginPath();
    let drawing = false;
    const offset = CHART_POINTS - s.values.length;
    s.values.forEach((v, i) => {
      if (v === null) {
        drawing = false;
        return;
      }
      const x = left + (offset + i) * step;
      const y = top + plotH - (max > 0 ? (v / max) * plotH : 0);
      if (drawing) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      drawing = true;
    });
    ctx.stroke();
    // A dot on every point, so a lone sample between gaps shows too.
    ctx.fillStyle = ctx.strokeStyle;
    s.values.forEach((v, i) => {
      if (v === null) return;
      ctx.beginPath();
      ctx.arc(left + (offset + i) * step, top + plotH - (max > 0 ? (v / max) * plotH : 0), 2, 0, 2 * Math.PI);
      ctx.fill();
    });
  }
}

// The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1).
function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const m of [1, 2, 5, 10]) if (value <= m * power) return m * power;
  return 10 * power;
}

function overviewPage(main) {
  const cards = {
    queued: card('Queued', 'count-queued'),
    running: card('Running', 'count-running'),
    waiting: card('Scheduled / retrying', 'count-waiting'),
    succeeded: card('Succeeded', 'count-succeeded', 'ok'),
    dead: card('Dead', 'count-dead', 'bad'),
    cancelled: card('Cancelled', 'count-cancelled'),
    throughput: card('Finished / s', 'throughput'),
    workers: card('Workers', 'count-workers'),
  };
  const throughputCanvas = el('canvas', {'data-testid': 'chart-throughput'});
  const latencyCanvas = el('canvas', {'data-testid': 'chart-latency'});
  const throughputNow = el('span', {'data-testid': 'chart-throughput-now'});
  const latencyNow = el('span', {'data-testid': 'chart-latency-now'});

  const queueHead = el('tr', {});
  const queueBody = el('tbody', {'data-testid': 'queues'});
  const workerBody = el('tbody', {'data-testid': 'workers'});
  const failureBody = el('tbody', {'data-testid': 'failures'});

  replaceChildren(main,
      el('div', {class: 'cards'}, Object.values(cards).map((c) => c.node)),
      el('div', {class: 'charts'},
         el('div', {class: 'chart'},
            el('div', {class: 'title'}, el('b', {}, 'Throughput'),
               el('span', {class: 'key ok'}, 'succeeded/s'),
               el('span', {class: 'key bad'}, 'dead/s'), throughputNow),
            throughputCanvas),
         el('div', {class: 'chart'},
            el('div', {class: 'title'}, el('b', {}, 'Latency'),
               el('span', {class: 'key wait'}, 'queue wait (median)'),
               el('span', {class: 'key accent'}, 'run time (median)'), latencyNow),
            latencyCanvas)),
      el('h2', {}, 'Queues ', el('span', {class: 'hint'}, 'one per task the broker knows')),
      el('table', {}, el('thead', {}, queueHead), queueBody),
      el('h2', {}, 'Workers'),
      el('table', {},
         el('thead', {}, el('tr', {}, el('th', {}, 'Name'), el('th', {}, 'Remote'), el('th', {class: 'num'}, 'Busy / slots'),
                            el('th', {class: 'num'}, 'Prefetched'), el('th', {}, 'Tasks'), el('th', {}, 'State'))),
         workerBody),
      el('h2', {}, 'Recent failures ', el('span', {class: 'hint'}, 'dead jobs, newest first · ',
                                           el('a', {href: '#/jobs?state=dead'}, 'all dead jobs'))),
      el('table', {},
         el('thead', {}, el('tr', {}, el('th', {}, 'Job'), el('th', {}, 'Task'), el('th', {}, 'Error'), el('th', {}, 'Message'),
                            el('th', {class: 'num'}, 'Attempts'), el('th', {}, 'Finished'), el('th', {}))),
         failureBody));

  let showOldest = null;  // whether the queue table has the oldest-job column (when the API gives it)

  function queueHeader(oldest) {
    replaceChildren(queueHead, el('th', {}, 'Task'), el('th', {class: 'num'}, 'Queued'), el('th', {class: 'num'}, 'Running'),
                    el('th', {class: 'num'}, 'Scheduled'), el('th', {class: 'num'}, 'Retrying'),
                    el('th', {class: 'num'}, 'Workers'), el('th', {}, 'State'), el('th', {}, 'Rate limit'),
                    el('th', {class: 'num', title: 'Jobs of this task finished per second, over the last ' +
                               RATE_WINDOW_MS / 1000 + ' s'}, 'Finished / s'),
                    oldest ? el('th', {class: 'num'}, 'Oldest queued') : null, el('th', {}));
  }

  function makeQueueRow(queue) {
    const task = queue.task;
    const cells = {};
    const cell = (name, cls) => (cells[name] = el('td', {class: cls, 'data-col': name}));
    const pause = el('button', {'data-testid': 'pause', onclick: () => {
      const paused = row.dataset.paused === 'true';
      act(pause, (paused ? 'resuming ' : 'pausing ') + task,
          () => api('POST', '/v1/queues/' + encodeURIComponent(task) + (paused ? '/resume' : '/pause')));
    }});
    const retry = el('button', {'data-testid': 'retry-dead', title: 'Retry every dead job of this task', onclick: () =>
      act(retry, 'retrying the dead jobs of ' + task,
          () => api('POST', '/v1/dead/retry', {task}), (r) => flash('Retried ' + r.retried + ' dead job(s) of ' + task))}, 'Retry dead');
    const purge = el('button', {class: 'danger', 'data-testid': 'purge', title: 'Delete every queued job of this task',
                               onclick: () => {
      if (!window.confirm('Purge every queued job of "' + task + '"? This cannot be undone.')) return;
      act(purge, 'purging ' + task, () => api('POST', '/v1/queues/' + encodeURIComponent(task) + '/purge'),
          (r) => flash('Purged ' + r.purged + ' queued job(s) of ' + task));
    }}, 'Purge');
    const row = el('tr', {'data-task': task},
        el('td', {}, el('a', {href: '#/jobs?task=' + encodeURIComponent(task)}, task)),
        cell('queued', 'num'), cell('running', 'num'), cell('scheduled', 'num'), cell('retrying', 'num'),
        cell('workers', 'num'), cell('state'), cell('rate'), cell('finished_rate', 'num'),
        showOldest ? cell('oldest', 'num') : null,
        el('td', {class: 'actions'}, pause, ' ', retry, ' ', purge));
    row.cells_ = cells;
    row.pause_ = pause;
    return row;
  }

  function updateQueueRow(row, queue, rates) {
    const c = row.cells_;
    setText(c.queued, queue.queued);
    setText(c.running, queue.running);
    setText(c.scheduled, queue.scheduled);
    setText(c.retrying, queue.retrying);
    setText(c.workers, queue.workers);
    const state = queue.paused ? 'paused' : queue.served ? 'active' : 'no worker';
    if (c.state.dataset.value !== state) {
      c.state.dataset.value = state;
      replaceChildren(c.state, el('span', {class: 'state ' + (queue.paused ? 'paused' : queue.served ? 'running' : 'dead')}, state));
    }
    row.dataset.paused = String(Boolean(queue.paused));
    setText(row.pause_, queue.paused ? 'Resume' : 'Pause');
    setText(c.rate, queue.rate ? queue.rate.limit : '—');
    const rate = rates.byTask[queue.task];
    setText(c.finished_rate, rates.total === null ? '—' : (rates.saturated && rate ? '≥ ' : '') + formatRate(rate || 0));
    if (c.oldest) {
      let age = null;
      if (typeof queue.oldest_age_ms === 'number') age = queue.oldest_age_ms;
      else if (typeof queue.oldest_queued_ms === 'number') age = Date.now() - queue.oldest_queued_ms;
      setText(c.oldest, queue.queued > 0 && age !== null ? formatDuration(age) : '—');
    }
  }

  function makeWorkerRow() {
    const row = el('tr', {});
    row.cells_ = {};
    for (const name of ['name', 'remote', 'busy', 'prefetched', 'tasks', 'state']) {
      row.append((row.cells_[name] = el('td', {'data-col': name, class: name === 'busy' || name === 'prefetched' ? 'num' : ''})));
    }
    return row;
  }

  function updateWorkerRow(row, worker) {
    const c = row.cells_;
    row.dataset.worker = worker.name;
    setText(c.name, worker.name);
    setText(c.remote, worker.remote);
    setText(c.busy, worker.busy + ' / ' + worker.slots);
    setText(c.prefetched, worker.prefetched);
    setText(c.tasks, (worker.tasks || []).join(', '));
    const state = worker.draining ? 'draining' : worker.busy > 0 ? 'busy' : 'idle';
    if (c.state.dataset.value !== state) {
      c.state.dataset.value = state;
      replaceChildren(c.state, el('span', {class: 'state ' + (worker.draining ? 'retrying' : worker.busy > 0 ? 'running' : '')}, state));
    }
  }

  function makeFailureRow(job) {
    const retry = el('button', {'data-testid': 'retry', onclick: () =>
      act(retry, 'retrying job ' + job.id, () => api('POST', '/v1/jobs/' + job.id + '/retry'),
          () => flash('Job ' + job.id + ' queued again'))}, 'Retry');
    const row = el('tr', {'data-job': job.id},
        el('td', {}, jobLink(job.id)), el('td', {}, job.task),
        el('td', {}, el('code', {'data-col': 'code'})), el('td', {class: 'message', 'data-col': 'message'}),
        el('td', {class: 'num', 'data-col': 'attempt'}), el('td', {'data-col': 'finished'}),
        el('td', {class: 'actions'}, retry));
    row.cells_ = {};
    for (const cell of row.querySelectorAll('[data-col]')) row.cells_[cell.dataset.col] = cell;
    return row;
  }

  // A job retried and dead again between two refreshes keeps its row: everything is updated.
  function updateFailureRow(row, job) {
    const c = row.cells_;
    setText(c.code, job.error ? job.error.code : '—');
    setText(c.message, job.error ? job.error.message : '');
    setText(c.attempt, job.attempt);
    setText(c.finished, formatAgo(job.finished_ms));
    c.finished.title = formatTime(job.finished_ms);
  }

  return {
    async refresh() {
      const [stats, succeeded, dead] = await Promise.all([
        api('GET', '/v1/stats'),
        api('GET', '/v1/jobs?state=succeeded&limit=' + FINISHED_SAMPLE),
        api('GET', '/v1/dead?limit=' + FINISHED_SAMPLE),
      ]);
      if (this.stopped) return;
      showBroker(stats);
      takeSample(stats, succeeded.jobs, dead.jobs);
      const rates = recentRates();
      const jobs = stats.jobs;
      setText(cards.queued.value, jobs.queued);
      setText(cards.running.value, jobs.running);
      setText(cards.waiting.value, jobs.scheduled + ' / ' + jobs.retrying);
      setText(cards.succeeded.value, jobs.succeeded);
      setText(cards.dead.value, jobs.dead);
      setText(cards.cancelled.value, jobs.cancelled);
      setText(cards.throughput.value, formatRate(rates.total));
      setText(cards.workers.value, stats.workers.length);

      const oldest = stats.queues.some((q) => 'oldest_age_ms' in q || 'oldest_queued_ms' in q);
      if (oldest !== showOldest) {
        showOldest = oldest;
        queueHeader(oldest);
        queueBody.replaceChildren();  // rows are rebuilt with or without the column
      }
      const queues = stats.queues.slice().sort((a, b) => a.task.localeCompare(b.task));
      syncRows(queueBody, queues, (q) => q.task, makeQueueRow, (row, q) => updateQueueRow(row, q, rates),
               'No queues yet: a queue appears when a job is submitted or a worker serves its task.', 12);
      syncRows(workerBody, stats.workers, (w) => w.id, makeWorkerRow, updateWorkerRow, 'No worker connected.', 6);
      syncRows(failureBody, dead.jobs.slice(0, 10), (j) => j.id, makeFailureRow, updateFailureRow, 'No dead jobs.', 7);

      const measured = samples.filter((s) => s.wait !== null).pop();
      setText(throughputNow, 'now: ' + formatRate(rates.total));
      setText(latencyNow, measured ? 'latest: wait ' + formatDuration(measured.wait) + ', run ' + formatDuration(measured.run) : '');
      drawChart(throughputCanvas, [
        {values: samples.map((s) => s.succeededRate), colour: '--ok'},
        {values: samples.map((s) => s.deadRate), colour: '--bad'},
      ], (v) => (v >= 10 ? Math.round(v) : v.toFixed(1)) + '/s');
      drawChart(latencyCanvas, [
        {values: samples.map((s) => s.wait), colour: '--wait'},
        {values: samples.map((s) => s.run), colour: '--accent'},
      ], (v) => formatDuration(v));
    },
  };
}

function showBroker(stats) {
  const text = stats.broker + ' · ' + stats.store + ' · up ' + formatDuration(stats.uptime_ms);
  setText(document.getElementById('broker'), text);
}

// ---------------------------------------------------------------------------------------------
// Jobs: newest first, filtered by task and state, a page at a time

function jobsPage(main, params) {
  const task = params.get('task') || '';
  const state = params.get('state') || '';
  const before = params.get('before') || '';
  const limit = params.get('limit') || '50';

  const taskInput = el('input', {name: 'task', value: task, list: 'known-tasks', placeholder: 'any', 'data-testid': 'filter-task'});
  const stateSelect = el('select', {name: 'state', 'data-testid': 'filter-state'},
                         el('option', {value: ''}, 'any'), STATES.map((s) => el('option', {value: s, selected: s === state}, s)));
  const limitSelect = el('select', {name: 'limit'}, ['20', '50', '100', '500'].map((n) => el('option', {value: n, selected: n === limit}, n)));
  const tasks = el('datalist', {id: 'known-tasks'});
  const body = el('tbody', {'data-testid': 'jobs'});
  const paging = el('div', {class: 'row'});
  const form = el('form', {class: 'filters', onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (taskInput.value.trim()) query.set('task', taskInput.value.trim());
    if (stateSelect.value) query.set('state', stateSelect.value);
    if (limitSelect.value !== '50') query.set('limit', limitSelect.value);
    location.hash = '#/jobs' + (query.toString() ? '?' + query : '');
  }},
      el('label', {}, 'Task', taskInput), el('label', {}, 'State', stateSelect), el('label', {}, 'Show', limitSelect),
      el('button', {type: 'submit', 'data-testid': 'filter-apply'}, 'Apply'), tasks);

  replaceChildren(main, el('h2', {}, 'Jobs ', el('span', {class: 'hint'}, 'newest first')), form,
      el('table', {},
         el('thead', {}, el('tr', {}, el('th', {}, 'Job'), el('th', {}, 'Task'), el('th', {}, 'State'),
                            el('th', {class: 'num'}, 'Attempt'), el('th', {}, 'Submitted'), el('th', {class: 'num'}, 'Queue wait'),
                            el('th', {class: 'num'}, 'Run time'), el('th', {}, 'Worker'), el('th', {}, 'Error'))),
         body),
      paging);

  function makeRow() {
    const row = el('tr', {});
    row.cells_ = {};
    for (const name of ['id', 'task', 'state', 'attempt', 'submitted', 'wait', 'run', 'worker', 'error']) {
      row.append((row.cells_[name] = el('td', {'data-col': name, class: ['attempt', 'wait', 'run'].includes(name) ? 'num' : ''})));
    }
    return row;
  }

  function updateRow(row, job) {
    const c = row.cells_;
    if (!c.id.firstChild) c.id.append(jobLink(job.id));
    setText(c.task, job.task);
    if (c.state.dataset.value !== job.state) {
      c.state.dataset.value = job.state;
      replaceChildren(c.state, stateBadge(job.state));
    }
    setText(c.attempt, job.attempt);
    setText(c.submitted, formatTime(job.submitted_ms));
    setText(c.wait, formatDuration(between(job.submitted_ms, job.started_ms)));
    setText(c.run, formatDuration(between(job.started_ms, job.finished_ms)));
    setText(c.worker, job.worker || '');
    setText(c.error, job.error ? job.error.code + ': ' + job.error.message : '');
  }

  let knownTasks = '';
  return {
    // Only the first page follows new jobs; an older page stays as it was read.
    poll: before === '',
    async refresh() {
      const query = new URLSearchParams({limit});
      if (task) query.set('task', task);
      if (state) query.set('state', state);
      if (before) query.set('before', before);
      const [list, queues] = await Promise.all([api('GET', '/v1/jobs?' + query), api('GET', '/v1/queues')]);
      if (this.stopped) return;
      const names = queues.queues.map((q) => q.task).sort().join('\n');
      if (names !== knownTasks) {
        knownTasks = names;
        replaceChildren(tasks, queues.queues.map((q) => el('option', {value: q.task})));
      }
      syncRows(body, list.jobs, (j) => j.id, makeRow, updateRow, 'No job matches.', 9);
      const base = new URLSearchParams(params);
      base.delete('before');
      const older = new URLSearchParams(base);
      if (list.next_before !== null) older.set('before', list.next_before);
      replaceChildren(paging,
          before ? el('a', {href: '#/jobs' + (base.toString() ? '?' + base : '')}, '← newest') : null,
          list.next_before !== null ? el('a', {href: '#/jobs?' + older, 'data-testid': 'older'}, 'older →') : null);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One job: its fields, payload, result, failures and history

function jobPage(main, id) {
  const title = el('h2', {'data-testid': 'job-title'}, 'Job #' + id);
  const controls = el('div', {class: 'row'});
  const fields = el('dl', {class: 'fields', 'data-testid': 'job-fields'});
  const outcome = el('div', {'data-testid': 'job-outcome'});
  const payload = el('div', {});
  const failures = el('div', {'data-testid': 'job-failures'});
  const history = el('div', {'data-testid': 'job-history'});
  replaceChildren(main, title, controls,
      el('section', {class: 'panel'}, fields),
      el('h2', {}, 'Outcome'), outcome,
      el('h2', {}, 'Payload'), payload,
      el('h2', {}, 'Failed attempts'), failures,
      el('h2', {}, 'History'), history);

  let lastRendered = '';
  let historyServed = true;

  function renderFields(job) {
    const entries = [
      ['Id', job.id], ['Task', el('a', {href: '#/jobs?task=' + encodeURIComponent(job.task)}, job.task)],
      ['State', stateBadge(job.state)], ['Priority', job.priority],
      ['Attempt', job.attempt], ['Retries used', job.retried + ' of ' + job.retries],
      ['Submitted', formatTime(job.submitted_ms)],
      ['Run at', job.run_at_ms ? formatTime(job.run_at_ms) : null],
      ['Started', formatTime(job.started_ms)], ['Finished', formatTime(job.finished_ms)],
      ['Queue wait', formatDuration(between(job.submitted_ms, job.started_ms))],
      ['Run time', formatDuration(between(job.started_ms, job.finished_ms))],
      ['Worker', job.worker || '—'],
      ['Unique key', job.unique_key ? job.unique_key + (job.unique_for_ms ? ' (for ' + formatDuration(job.unique_for_ms) + ')' : '') : null],
      ['Fairness key', job.fair_key],
    ];
    replaceChildren(fields, entries.filter(([, v]) => v !== null && v !== undefined).map(([name, value]) => [
      el('dt', {}, name), el('dd', {'data-field': name.toLowerCase().replace(/ /g, '_')}, value),
    ]));
    const buttons = [];
    if (!FINAL_STATES.has(job.state)) {
      const cancel = el('button', {class: 'danger', 'data-testid': 'cancel', onclick: () =>
        act(cancel, 'cancelling job ' + job.id, () => api('POST', '/v1/jobs/' + job.id + '/cancel'))}, 'Cancel');
      buttons.push(cancel);
    }
    if (job.state === 'dead') {
      const retry = el('button', {'data-testid': 'retry', onclick: () =>
        act(retry, 'retrying job ' + job.id, () => api('POST', '/v1/jobs/' + job.id + '/retry'))}, 'Retry');
      buttons.push(retry);
    }
    replaceChildren(controls, buttons);
    replaceChildren(outcome,
        job.error ? el('div', {class: 'notice', 'data-testid': 'job-error'}, el('code', {}, job.error.code), ' ', job.error.message) : null,
        job.state === 'succeeded' ? bytesBlock(job, 'result', 'job-result') :
            job.error ? null : el('span', {class: 'hint'}, 'not finished'));
    replaceChildren(payload, bytesBlock(job, 'payload', 'job-payload'));
    const rows = (job.failures || []).map((f) => el('tr', {},
        el('td', {class: 'num'}, f.attempt), el('td', {}, f.worker || '—'), el('td', {}, formatTime(f.started_ms)),
        el('td', {}, formatTime(f.ended_ms)), el('td', {}, el('code', {}, f.code)), el('td', {class: 'message'}, f.message)));
    replaceChildren(failures, rows.length === 0 ? el('span', {class: 'hint'}, 'none') :
        el('table', {}, el('thead', {}, el('tr', {}, el('th', {class: 'num'}, 'Attempt'), el('th', {}, 'Worker'),
                                            el('th', {}, 'Started'), el('th', {}, 'Ended'), el('th', {}, 'Code'),
                                            el('th', {}, 'Message'))),
           el('tbody', {}, rows)));
  }

  // The history the broker keeps (GET /v1/jobs/{id}/history), or, from a broker without it, the
  // one the job's own timestamps and failures tell.
  function renderHistory(job, served) {
    const events = served ? served.events : fallbackEvents(job);
    const reason = served && served.reason && !FINAL_STATES.has(job.state) ?
        el('div', {class: 'reason', 'data-testid': 'job-reason'}, el('b', {}, 'Why it is not running: '),
           el('code', {}, served.reason.code), ' ', served.reason.message) : null;
    const note = served ? null : el('div', {class: 'notice', 'data-testid': 'history-unavailable'},
        'History not available: this broker does not serve /v1/jobs/' + job.id +
        '/history. Shown instead: what the job\'s timestamps and failed attempts tell.');
    const items = events.map((e) => el('li', {'data-kind': e.kind},
        el('span', {class: 'time'}, formatTime(e.time_ms)), el('span', {}, stateBadge(e.kind)),
        el('span', {}, [e.attempt ? 'attempt ' + e.attempt : null, e.worker ? 'on ' + e.worker : null, e.detail || null]
                           .filter(Boolean).join(' · '))));
    replaceChildren(history, note, reason,
        items.length ? el('section', {class: 'panel'}, el('ol', {class: 'timeline', 'data-testid': 'timeline'}, items)) :
            el('span', {class: 'hint'}, 'no events'));
  }

  return {
    async refresh() {
      const job = await api('GET', '/v1/jobs/' + id + '?payload=1');
      let served = null;
      if (historyServed) {
        try {
          served = await api('GET', '/v1/jobs/' + id + '/history');
        } catch (e) {
          // 404 or 405 while the job itself exists: this broker has no history endpoint. Not
          // asked again while this page is open.
          if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 405)) throw e;
          historyServed = false;
        }
      }
      if (this.stopped) return;
      const key = JSON.stringify([job, served]);
      if (key !== lastRendered) {
        lastRendered = key;
        title.replaceChildren('Job #' + job.id + ' · ' + job.task + ' ', stateBadge(job.state));
        renderFields(job);
        renderHistory(job, served);
      }
    },
  };
}

// The events a job's own fields tell, oldest first, when the broker serves no history.
function fallbackEvents(job) {
  const events = [];
  if (job.submitted_ms) events.push({time_ms: job.submitted_ms, kind: 'submitted', attempt: null, worker: null, detail: null});
  if (job.run_at_ms && job.run_at_ms > (job.submitted_ms || 0)) {
    events.push({time_ms: job.run_at_ms, kind: 'scheduled', attempt: null, worker: null, detail: 'to run at this time'});
  }
  for (const f of job.failures || []) {
    if (f.started_ms) events.push({time_ms: f.started_ms, kind: 'running', attempt: f.attempt, worker: f.worker, detail: null});
    events.push({time_ms: f.ended_ms, kind: 'failed', attempt: f.attempt, worker: f.worker, detail: f.code + ': ' + f.message});
  }
  const lastFailure = (job.failures || []).reduce((t, f) => Math.max(t, f.ended_ms || 0), 0);
  if (job.started_ms && job.started_ms > lastFailure) {
    events.push({time_ms: job.started_ms, kind: 'running', attempt: job.attempt, worker: job.worker, detail: null});
  }
  if (job.finished_ms && FINAL_STATES.has(job.state)) {
    // A job that died of its last failure says so once, on the failure.
    const lastFailed = events.filter((e) => e.kind === 'failed').pop();
    let detail = job.error ? job.error.code + ': ' + job.error.message : null;
    if (lastFailed && lastFailed.detail === detail && lastFailed.attempt === job.attempt) detail = null;
    events.push({time_ms: job.finished_ms, kind: job.state, attempt: job.attempt || null, worker: job.worker, detail});
  }
  return events.sort((a, b) => (a.time_ms || 0) - (b.time_ms || 0));
}

// ---------------------------------------------------------------------------------------------
// Routing

function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const question = hash.indexOf('?');
  const path = question < 0 ? hash : hash.slice(0, question);
  const params = new URLSearchParams(question < 0 ? '' : hash.slice(question + 1));
  const main = document.getElementById('view');
  let view;
  let nav;
  let match;
  if (path === '/' || path === '') {
    view = overviewPage(main);
    nav = 'overview';
  } else if (path === '/jobs') {
    view = jobsPage(main, params);
    nav = 'jobs';
  } else if ((match = path.match(/^\/jobs\/(\d+)$/))) {
    view = jobPage(main, match[1]);
    nav = 'jobs';
  } else {
    replaceChildren(main, el('p', {}, 'No such page. ', el('a', {href: '#/'}, 'Back to the overview')));
    view = {poll: false, async refresh() {}};
  }
  for (const link of document.querySelectorAll('header nav a')) link.classList.toggle('active', link.dataset.nav === nav);
  clearError('poll');
  startView(view);
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', () => {
  setUpSignIn();
  route();
});
