// The dashboard in a real browser: Debian's chromium driven by playwright-core, against a real
// broker (memory store, free ports) and a real worker with the built-in tasks. Jobs submitted over
// HTTP during the test must move the page's numbers; a failed job must show under recent failures
// with its error; a job page must show its fields and history; the pause button must pause.
//
// Run by tests/dashboard/run.sh (ctest: dashboard_test), which installs playwright-core and sets
// CORVEE_BIN. DASHBOARD_SCREENSHOT=FILE.png saves the overview (and FILE-job.png, a job page).
// Every wait polls against a deadline; none assumes how fast the machine is.
import {after, before, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {createInterface} from 'node:readline';
import {chromium} from 'playwright-core';

const BIN = process.env.CORVEE_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT || '';
// How long a condition may take to become true before the test fails: a bound against hanging,
// not a speed requirement (the page refreshes every 1.5 s).
const DEADLINE_MS = 30000;

const started = [];  // the processes this test started, stopped by PID in after()
let broker;
let httpUrl;
let browser;
let page;
const pageErrors = [];

// ---- processes ----

// Starts BIN with `args`; resolves once a stdout line matches every regexp of `wanted` (in any
// order), with the matches. Rejects if the process exits first or the deadline passes.
function startCorvee(args, wanted) {
  const child = spawn(BIN, args, {stdio: ['ignore', 'pipe', 'pipe']});
  const record = {child, name: args[0], output: []};
  started.push(record);
  const keep = (line) => {
    record.output.push(line);
    if (record.output.length > 200) record.output.shift();
  };
  createInterface({input: child.stderr}).on('line', keep);
  const lines = createInterface({input: child.stdout});
  if (wanted.length === 0) {
    lines.on('line', keep);
    return Promise.resolve({record, matches: []});
  }
  return new Promise((resolve, reject) => {
    const found = new Array(wanted.length).fill(null);
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not print ${wanted} within ${DEADLINE_MS} ms:\n` +
                                                    record.output.join('\n'))), DEADLINE_MS);
    lines.on('line', (line) => {
      keep(line);
      wanted.forEach((re, i) => {
        const m = found[i] === null && line.match(re);
        if (m) found[i] = m;
      });
      if (found.every((m) => m !== null)) {
        clearTimeout(timer);
        resolve({record, matches: found});
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited (${code ?? signal}) before it was ready:\n` + record.output.join('\n')));
    });
  });
}

// SIGTERM by PID, then SIGKILL if it has not exited within the deadline.
async function stop(record) {
  const {child} = record;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve('late'), 10000)));
  if ((await Promise.race([exited, late])) === 'late') {
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

// Should the runner die some other way (an uncaught error, a signal), stop them all the same.
function killAll() {
  for (const {child} of started) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(1);
  });
}

// ---- HTTP ----

async function http(method, path, body) {
  const response = await fetch(httpUrl + path, {
    method,
    headers: body === undefined ? {} : {'Content-Type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {status: response.status, doc: text ? JSON.parse(text) : null};
}

async function submitAndWait(job) {
  const {status, doc} = await http('POST', '/v1/jobs?wait=20000', job);
  assert.equal(status, 200, `submitting ${JSON.stringify(job)}: ${status} ${JSON.stringify(doc)}`);
  return doc;
}

// ---- waiting for the page ----

// Polls `probe` until it returns a truthy value (which it resolves to), or fails with `what` and
// the last value seen.
async function eventually(what, probe) {
  const deadline = Date.now() + DEADLINE_MS;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) assert.fail(`${what}: still not true after ${DEADLINE_MS} ms (last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const text = (selector) => page.locator(selector).first().innerText();
const number = async (selector) => Number((await text(selector)).replace(/[^0-9.]/g, ''));

// ---- setup and teardown ----

before(async () => {
  assert.ok(BIN, 'CORVEE_BIN must name the corvee binary');
  const b = await startCorvee(['broker', '--store', 'memory', '--bind', 'tcp://127.0.0.1:0', '--http', '127.0.0.1:0'],
                              [/^corvee broker http on (http:\/\/\S+)/, /^corvee broker listening on (tcp:\/\/\S+)/]);
  broker = b.record;
  httpUrl = b.matches[0][1];
  const wire = b.matches[1][1];
  // The worker prints nothing when ready: the first test waits for it on the page.
  await startCorvee(['worker', '--builtin', '--connect', wire, '--name', 'dash-worker', '--slots', '2'], []);
  browser = await chromium.launch({executablePath: CHROMIUM, headless: true, args: ['--no-sandbox']});
  page = await browser.newPage({viewport: {width: 1360, height: 1000}});
  page.on('pageerror', (error) => pageErrors.push('uncaught: ' + error.message));
  page.on('console', (message) => {
    // A 404 from the history endpoint is expected while the broker has none; a blocked resource
    // (the page's CSP) or a script error is not.
    if (message.type() === 'error' && /Content Security Policy|Uncaught|TypeError|ReferenceError/.test(message.text())) {
      pageErrors.push(message.text());
    }
  });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  for (const record of started.reverse()) await stop(record).catch(() => {});
});

// ---- the tests, in order: they share the broker and the page ----

test('the dashboard is served from the broker, with ETags', async () => {
  const index = await fetch(httpUrl + '/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const etag = index.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]+"$/);
  assert.match(await index.text(), /\/assets\/app\.js/);
  const again = await fetch(httpUrl + '/assets/index.html', {headers: {'If-None-Match': etag}});
  assert.equal(again.status, 304);
  const script = await fetch(httpUrl + '/assets/app.js');
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type'), /^text\/javascript/);
  const missing = await fetch(httpUrl + '/assets/nothing.js');
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, 'not_found');
});

test('the worker appears with its tasks', async () => {
  await page.goto(httpUrl + '/');
  await eventually('the page says it is connected', async () => (await text('[data-testid=link]')) === 'connected');
  const row = page.locator('[data-testid=workers] tr[data-worker]');
  await eventually('one worker row', async () => (await row.count()) === 1);
  assert.equal(await row.locator('[data-col=name]').innerText(), 'dash-worker');
  const tasks = await row.locator('[data-col=tasks]').innerText();
  for (const task of ['echo', 'reverse', 'add', 'sleep', 'fail']) assert.match(tasks, new RegExp(`\\b${task}\\b`));
  assert.equal(await row.locator('[data-col=busy]').innerText(), '0 / 2');
  // Its tasks' queues are listed, served.
  await eventually('a queue row for reverse', async () => (await page.locator('[data-testid=queues] tr[data-task=reverse]').count()) === 1);
  assert.equal(await text('[data-testid=queues] tr[data-task=reverse] [data-col=state]'), 'active');
});

let reversedId;

test('jobs submitted now move the numbers', async () => {
  const before = await eventually('a succeeded count', async () => {
    const t = await text('[data-testid=count-succeeded]');
    return t !== '—' ? {value: Number(t)} : null;
  });
  const jobs = [];
  for (let i = 0; i < 8; ++i) jobs.push(submitAndWait({task: 'reverse', payload: `hello ${i}`}));
  const done = await Promise.all(jobs);
  for (const [i, job] of done.entries()) {
    assert.equal(job.state, 'succeeded');
    assert.equal(job.result, [...`hello ${i}`].reverse().join(''));
  }
  reversedId = done[0].id;
  await eventually('succeeded grows by 8', async () => (await number('[data-testid=count-succeeded]')) >= before.value + 8);
  await eventually('the throughput shows jobs finishing', async () => (await number('[data-testid=throughput]')) > 0);
  await eventually('the reverse queue shows its finish rate',
                   async () => (await number('[data-testid=queues] tr[data-task=reverse] [data-col=finished_rate]')) > 0);
  await eventually('the latency chart has a measurement', async () => /wait .* run /.test(await text('[data-testid=chart-latency-now]')));
});

let failedId;

test('a failed job shows under recent failures with its error', async () => {
  const failed = await submitAndWait({task: 'fail', payload: 'on purpose', retries: 0});
  assert.equal(failed.state, 'dead');
  failedId = failed.id;
  const row = page.locator(`[data-testid=failures] tr[data-job="${failedId}"]`);
  await eventually('the dead job in recent failures', async () => (await row.count()) === 1);
  assert.equal(await row.locator('[data-col=code]').innerText(), failed.error.code);
  assert.match(await row.locator('[data-col=message]').innerText(), /the fail task always fails: on purpose/);
  await eventually('the dead count', async () => (await number('[data-testid=count-dead]')) >= 1);
});

test('a job page shows its fields and history', async () => {
  // From the failures table, as a user would.
  await page.locator(`[data-testid=failures] tr[data-job="${failedId}"] a`).click();
  await eventually('the job page', async () => /fail/.test(await text('[data-testid=job-title]')));
  assert.equal(await text('[data-field=state]'), 'dead');
  assert.equal(await text('[data-field=task]'), 'fail');
  assert.match(await text('[data-testid=job-error]'), /the fail task always fails: on purpose/);
  assert.equal(await text('[data-testid=job-payload]'), 'on purpose');
  const served = (await http('GET', `/v1/jobs/${failedId}/history`)).status === 200;
  const kinds = async () => page.locator('[data-testid=timeline] li').evaluateAll((items) => items.map((li) => li.dataset.kind));
  await eventually('a history from submission to death', async () => {
    const k = await kinds();
    return k[0] === 'submitted' && k.includes('dead');
  });
  if (served) {
    assert.equal(await page.locator('[data-testid=history-unavailable]').count(), 0);
  } else {
    // The broker has no history endpoint yet: the page says so and shows the timestamps.
    assert.match(await text('[data-testid=history-unavailable]'), /history not available/i);
    assert.ok((await kinds()).includes('failed'));
  }
  assert.equal(await page.locator('[data-testid=retry]').count(), 1, 'a dead job offers Retry');
  assert.equal(await page.locator('[data-testid=cancel]').count(), 0, 'a dead job offers no Cancel');

  // A job that succeeded shows its result.
  await page.goto(`${httpUrl}/#/jobs/${reversedId}`);
  await eventually('the result', async () => (await text('[data-testid=job-result]')) === '0 olleh');
  assert.equal(await text('[data-field=worker]'), (await http('GET', `/v1/jobs/${reversedId}`)).doc.worker);
  if (SCREENSHOT) await page.screenshot({path: SCREENSHOT.replace(/\.png$/, '') + '-job.png', fullPage: true});
});

test('the cancel button cancels a running job', async () => {
  const {doc: submitted} = await http('POST', '/v1/jobs', {task: 'sleep', payload: '600000'});
  await page.goto(`${httpUrl}/#/jobs/${submitted.id}`);
  await eventually('the job running on its page', async () => (await text('[data-field=state]')) === 'running');
  await page.locator('[data-testid=cancel]').click();
  await eventually('the page says cancelled', async () => (await text('[data-field=state]')) === 'cancelled');
  assert.equal((await http('GET', `/v1/jobs/${submitted.id}`)).doc.state, 'cancelled');
  assert.equal(await page.locator('[data-testid=cancel]').count(), 0, 'a cancelled job offers no Cancel');
});

test('an error from the API is shown', async () => {
  await page.goto(`${httpUrl}/#/jobs/999999`);
  await eventually('the not_found error', async () => /not_found/.test(await text('[data-testid=errors]')));
});

test('the pause button pauses a queue, and resume resumes it', async () => {
  await page.goto(httpUrl + '/#/');
  const row = page.locator('[data-testid=queues] tr[data-task=reverse]');
  await eventually('the reverse row', async () => (await row.count()) === 1);
  await row.locator('[data-testid=pause]').click();
  await eventually('the row says paused', async () => (await row.locator('[data-col=state]').innerText()) === 'paused');
  const queues = (await http('GET', '/v1/queues')).doc.queues;
  assert.equal(queues.find((q) => q.task === 'reverse').paused, true);
  // A job submitted to the paused queue waits, and the page counts it.
  const {doc: submitted} = await http('POST', '/v1/jobs', {task: 'reverse', payload: 'paused'});
  await eventually('one queued job', async () => (await row.locator('[data-col=queued]').innerText()) === '1');
  assert.equal((await http('GET', `/v1/jobs/${submitted.id}`)).doc.state, 'queued');
  await eventually('the button offers Resume', async () => (await row.locator('[data-testid=pause]').innerText()) === 'Resume');
  await row.locator('[data-testid=pause]').click();
  const {doc: finished} = await http('GET', `/v1/jobs/${submitted.id}?wait=20000`);
  assert.equal(finished.state, 'succeeded');
  await eventually('the row is active again', async () => (await row.locator('[data-col=state]').innerText()) === 'active');
  assert.equal((await http('GET', '/v1/queues')).doc.queues.find((q) => q.task === 'reverse').paused, false);
});

test('retrying a dead job from the failures table runs it again', async () => {
  const row = page.locator(`[data-testid=failures] tr[data-job="${failedId}"]`);
  await eventually('the failure row', async () => (await row.count()) === 1);
  await row.locator('[data-testid=retry]').click();
  // The fail task fails again: the job is dead once more, after a second attempt.
  const {doc} = await eventually('a second attempt', async () => {
    const r = await http('GET', `/v1/jobs/${failedId}`);
    return r.doc.state === 'dead' && r.doc.attempt >= 2 ? r : null;
  });
  assert.equal(doc.error.code, 'handler_error');
  await eventually('the failure row shows the second attempt',
                   async () => Number(await row.locator('[data-col=attempt]').innerText()) === doc.attempt);
  if (SCREENSHOT) await page.screenshot({path: SCREENSHOT, fullPage: true});
});

test('the jobs page filters by task and state', async () => {
  await page.goto(httpUrl + '/#/jobs');
  await page.locator('[data-testid=filter-task]').fill('fail');
  await page.locator('[data-testid=filter-state]').selectOption('dead');
  await page.locator('[data-testid=filter-apply]').click();
  const rows = page.locator('[data-testid=jobs] tr[data-key]');
  await eventually('only the dead fail job', async () => {
    const ids = await rows.evaluateAll((items) => items.map((tr) => tr.dataset.key));
    return ids.length === 1 && ids[0] === String(failedId);
  });
  assert.match(page.url(), /#\/jobs\?task=fail&state=dead/);
});

test('the page raised no script error', () => {
  assert.deepEqual(pageErrors, []);
});
