// Shared helpers for the BullMQ / bee-queue peer driver: argument parsing, the Redis reachability
// check, deadlines, percentiles and output. Nothing here prints a line starting with "RESULT"
// except result().

import { Redis } from 'ioredis';

export class Fatal extends Error {}

const USAGE = `usage: node driver.mjs --redis HOST:PORT --workload W1|W2|W3 [options]
  --system bullmq|beequeue   queue library to drive (default bullmq)
  --jobs N                   W1 jobs per run (default 100000); W3 jobs to fill (default 1000000)
  --consumers C              consumers for W1/W2 (default 4)
  --payload BYTES            payload size (default 100)
  --mode LABEL               label printed in RESULT lines (default memory)
  --repeat R                 W1 measured runs, median is reported (default 3)
  --warmup K                 W1 warm-up jobs before the measured runs (default 2000)
  --latency-jobs M           W2 measured jobs (default 5000)
  --latency-warmup K         W2 warm-up jobs (default 500)
  --timeout-s S              limit for one run / one whole W2 or W3 (default 300)
  --producer bulk|add        W1 producer: addBulk/saveAll chunks, or single adds with a window (default bulk)
  --chunk N                  jobs per addBulk/saveAll call (default 1000)
  --bulk-inflight N          addBulk/saveAll calls in flight (default 1)
  --inflight N               add/save promises in flight for --producer add (default 1000)
  --shape one|many           consumers: one Worker (bee-queue: worker Queue) with concurrency C, or
                             C of them with concurrency 1, each on its own connections (default one)
  --remove-on-complete V     bullmq removeOnComplete: true, false or a count to keep
                             (default: true for W1/W3, 1000 for W2, see bullmq.mjs)
  --connect-timeout-s S      how long to wait for Redis to answer PING (default 10)
  --fail-job K               test hook: the K-th job a consumer runs throws (checks the error exit)`;

function intArg(name, v) {
  if (!/^\d+$/.test(v ?? '')) throw new Fatal(`${name} needs a non-negative integer, got '${v}'`);
  return Number(v);
}

export function parseArgs(argv) {
  const o = {
    redis: null, workload: null, system: 'bullmq', jobs: null, consumers: 4, payload: 100,
    mode: 'memory', repeat: 3, warmup: 2000, latencyJobs: 5000, latencyWarmup: 500, timeoutS: 300,
    producer: 'bulk', chunk: 1000, bulkInflight: 1, inflight: 1000, shape: 'one', connectTimeoutS: 10,
    removeOnComplete: null, failJob: 0,
  };
  const ints = {
    '--jobs': 'jobs', '--consumers': 'consumers', '--payload': 'payload', '--repeat': 'repeat',
    '--warmup': 'warmup', '--latency-jobs': 'latencyJobs', '--latency-warmup': 'latencyWarmup',
    '--timeout-s': 'timeoutS', '--chunk': 'chunk', '--bulk-inflight': 'bulkInflight', '--inflight': 'inflight',
    '--connect-timeout-s': 'connectTimeoutS', '--fail-job': 'failJob',
  };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let val;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) { val = flag.slice(eq + 1); flag = flag.slice(0, eq); }
    const next = () => {
      if (val !== undefined) return val;
      if (i + 1 >= argv.length) throw new Fatal(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === '-h' || flag === '--help') { console.log(USAGE); process.exit(0); }
    else if (flag in ints) o[ints[flag]] = intArg(flag, next());
    else if (flag === '--redis') o.redis = next();
    else if (flag === '--workload') o.workload = next().toUpperCase();
    else if (flag === '--system') o.system = next().toLowerCase().replace(/[-_]/g, '');
    else if (flag === '--mode') o.mode = next();
    else if (flag === '--producer') o.producer = next();
    else if (flag === '--shape') o.shape = next();
    else if (flag === '--remove-on-complete') o.removeOnComplete = next();
    else throw new Fatal(`unknown argument '${argv[i]}'\n${USAGE}`);
  }
  if (!o.redis) throw new Fatal(`--redis HOST:PORT is required\n${USAGE}`);
  const m = /^(.*):(\d+)$/.exec(o.redis);
  if (!m) throw new Fatal(`--redis must be HOST:PORT, got '${o.redis}'`);
  o.host = m[1].replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  o.port = Number(m[2]);
  if (!['W1', 'W2', 'W3'].includes(o.workload)) throw new Fatal(`--workload must be W1, W2 or W3\n${USAGE}`);
  if (!['bullmq', 'beequeue'].includes(o.system)) throw new Fatal(`--system must be bullmq or beequeue`);
  if (!['bulk', 'add'].includes(o.producer)) throw new Fatal(`--producer must be bulk or add`);
  if (o.removeOnComplete !== null && !/^(true|false|\d+)$/.test(o.removeOnComplete)) {
    throw new Fatal('--remove-on-complete must be true, false or a count');
  }
  if (!['one', 'many'].includes(o.shape)) throw new Fatal(`--shape must be one or many`);
  if (o.jobs === null) o.jobs = o.workload === 'W3' ? 1_000_000 : 100_000;
  if (o.consumers < 1) throw new Fatal('--consumers must be at least 1');
  if (o.chunk < 1 || o.inflight < 1 || o.bulkInflight < 1) {
    throw new Fatal('--chunk, --bulk-inflight and --inflight must be at least 1');
  }
  if (o.repeat < 1) throw new Fatal('--repeat must be at least 1');
  if (o.timeoutS < 1) throw new Fatal('--timeout-s must be at least 1');
  if (o.workload === 'W2' && o.latencyJobs < 1) throw new Fatal('--latency-jobs must be at least 1');
  if (o.workload !== 'W2' && o.jobs < 1) throw new Fatal('--jobs must be at least 1');
  return o;
}

/** Waits until Redis answers PING, or throws Fatal after `seconds`. */
export async function waitForRedis(host, port, seconds) {
  const deadline = Date.now() + seconds * 1000;
  let lastErr = null;
  const r = new Redis({
    host, port, lazyConnect: true, maxRetriesPerRequest: null, enableOfflineQueue: true,
    retryStrategy: () => 200, connectTimeout: 2000,
  });
  r.on('error', (e) => { lastErr = e; });
  try {
    r.connect().catch((e) => { lastErr = e; });
    let timer;
    const timeout = new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Fatal(
        `Redis at ${host}:${port} did not answer PING within ${seconds} s` +
        (lastErr ? ` (last error: ${lastErr.message})` : ''))), Math.max(0, deadline - Date.now()));
    });
    try {
      const pong = await Promise.race([r.ping(), timeout]);
      if (pong !== 'PONG') throw new Fatal(`unexpected PING reply from ${host}:${port}: ${pong}`);
      const info = await r.info('server');
      const ver = /redis_version:(\S+)/.exec(info);
      return ver ? ver[1] : 'unknown';
    } finally {
      clearTimeout(timer);
    }
  } finally {
    r.disconnect();
  }
}

/**
 * Runs `body(fail)` under a deadline. `fail(err)` aborts the run from an event handler (a failed
 * job, a connection error). Resolves with body's value or rejects with the first failure.
 */
export function guarded(what, seconds, body) {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn, v) => { if (!done) { done = true; clearTimeout(timer); fn(v); } };
    const fail = (err) => finish(reject, err instanceof Error ? err : new Fatal(String(err)));
    const timer = setTimeout(
      () => fail(new Fatal(`${what} did not finish within ${seconds} s (--timeout-s)`)), seconds * 1000);
    Promise.resolve().then(() => body(fail)).then((v) => finish(resolve, v), fail);
  });
}

/** Resolves after `ms`, never keeping the process alive. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref());

/** Awaits `p` for at most `ms`; returns false on timeout (used for shutdown, which must not hang). */
export async function within(ms, p) {
  let timer;
  const t = new Promise((r) => { timer = setTimeout(() => r(false), ms); timer.unref(); });
  try {
    return await Promise.race([Promise.resolve(p).then(() => true), t]);
  } finally {
    clearTimeout(timer);
  }
}

export const nowNs = () => process.hrtime.bigint();

/** CPU seconds used so far by redis-server (INFO cpu) — informational, outside the timed window. */
export async function redisCpuSeconds(host, port) {
  const r = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    const text = await r.info('cpu');
    const f = (k) => Number((new RegExp(`^${k}:([0-9.]+)`, 'm').exec(text) ?? [0, 0])[1]);
    return f('used_cpu_sys') + f('used_cpu_user');
  } catch {
    return NaN;
  } finally {
    r.disconnect();
  }
}

/** CPU seconds used so far by this process. */
export function selfCpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Nearest-rank percentile of an ascending array. */
export function nearestRank(sorted, p) {
  const n = sorted.length;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[Math.min(n, rank) - 1];
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export function result(workload, system, mode, value, unit) {
  process.stdout.write(`RESULT ${workload} ${system} ${mode} ${value} ${unit}\n`);
}

/** Informational line; never starts with RESULT. */
export function info(msg) {
  process.stdout.write(`# ${msg}\n`);
}

/** The no-op processor; with --fail-job K the K-th call in this process throws. */
export function noopProcessor(o) {
  if (!o.failJob) return async () => undefined;
  let calls = 0;
  return async () => {
    if (++calls === o.failJob) throw new Error(`injected failure of job #${calls} (--fail-job)`);
    return undefined;
  };
}

export function payloadOf(bytes) {
  return 'x'.repeat(bytes);
}

/** Summary of W1 runs: median as RESULT, runs on an info line. */
export function reportThroughput(o, system, runs, shapeText) {
  const rates = runs.map((r) => r.rate);
  const us = (k) => runs.map((r) => (r[k] * 1e6 / r.jobs).toFixed(0)).join(' ');
  info(`W1 ${system} ${o.mode} runs (jobs/s): ${rates.map((x) => x.toFixed(0)).join(' ')}; ` +
    `seconds: ${runs.map((r) => r.seconds.toFixed(3)).join(' ')}; CPU us/job node: ${us('nodeCpu')}, ` +
    `redis-server: ${us('redisCpu')}; ${shapeText}`);
  result('W1', system, o.mode, Math.round(median(rates)), 'jobs/s');
}

/** Summary of W2 samples (microseconds): p50/p99 as RESULT, the rest on an info line. */
export function reportLatency(o, system, samplesUs, loopText) {
  const s = Float64Array.from(samplesUs).sort();
  const q = (p) => Math.round(nearestRank(s, p));
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  info(`W2 ${system} ${o.mode} ${s.length} jobs: p90 ${q(90)} us, p99.9 ${q(99.9)} us, ` +
    `max ${Math.round(s[s.length - 1])} us, min ${Math.round(s[0])} us, mean ${Math.round(mean)} us; ${loopText}`);
  result('W2', system, o.mode, q(50), 'us-p50');
  result('W2', system, o.mode, q(99), 'us-p99');
}

/** A queue name of its own for each run, so runs never see each other's jobs. */
export function queueName(tag) {
  return `corvee-peer-${tag}-${process.pid}-${Date.now().toString(36)}`;
}

/** Opened objects, closed in reverse order at the end of each run. */
export class Resources {
  constructor(close = (x) => x.close()) { this.items = []; this.close = close; }
  add(x) { this.items.push(x); return x; }
  async closeAll() {
    for (const x of this.items.reverse()) {
      const ok = await within(10_000, this.close(x).catch((e) => info(`close: ${e.message}`)));
      if (!ok) info(`close of a ${x.constructor.name} took over 10 s; going on`);
    }
    this.items = [];
  }
}

/**
 * W1 for a Redis-backed system, measured the same way for each: warm-up, then o.repeat runs on
 * fresh queues, each timed from the first submission to the last completion, with the CPU used by
 * Node and by redis-server. `system` says how to use the library:
 *   name, settings (text), newResources(), open(res, queue, failRef, onCompleted) -> { producer,
 *   workers }, ready(producer, workers), produce(producer, n, data), cleanup(queue).
 */
export async function measureThroughput(o, system) {
  info(`W1 ${system.name}: ${o.jobs} jobs x ${o.repeat} runs after ${o.warmup} warm-up jobs; payload ${o.payload} B; ` +
    system.settings);
  if (o.warmup > 0) {
    const w = await throughputRun(o, system, 'w1warm', o.warmup);
    info(`W1 ${system.name} warm-up: ${w.rate.toFixed(0)} jobs/s`);
  }
  const runs = [];
  for (let r = 0; r < o.repeat; r++) {
    const run = await throughputRun(o, system, `w1r${r}`, o.jobs);
    info(`W1 ${system.name} run ${r + 1}/${o.repeat}: ${run.rate.toFixed(0)} jobs/s (${run.seconds.toFixed(3)} s; ` +
      `CPU s: node ${run.nodeCpu.toFixed(2)}, redis-server ${run.redisCpu.toFixed(2)})`);
    runs.push(run);
  }
  reportThroughput(o, system.name, runs, system.settings);
}

/** One W1 run on a fresh queue: returns { rate, seconds, jobs, nodeCpu, redisCpu }. */
async function throughputRun(o, system, tag, n) {
  const res = system.newResources();
  const failRef = { fail: (e) => { failRef.pending ??= e; } };
  const data = payloadOf(o.payload);
  try {
    return await guarded(`W1 ${tag} (${n} jobs)`, o.timeoutS, async (fail) => {
      if (failRef.pending) throw failRef.pending;
      failRef.fail = fail;
      const name = queueName(tag);
      let completed = 0;
      let resolveDone;
      const done = new Promise((r) => { resolveDone = r; });
      let t1 = 0n;
      const { producer, workers } = system.open(res, name, failRef, () => {
        if (++completed === n) { t1 = nowNs(); resolveDone(); }
      });
      await system.ready(producer, workers);
      await sleep(200); // let the workers reach their blocking wait on the empty queue
      const rc0 = await redisCpuSeconds(o.host, o.port);
      const c0 = selfCpuSeconds();
      const t0 = nowNs();
      await system.produce(producer, n, data);
      await done;
      const seconds = Number(t1 - t0) / 1e9;
      const nodeCpu = selfCpuSeconds() - c0;
      const redisCpu = (await redisCpuSeconds(o.host, o.port)) - rc0;
      await res.closeAll();
      await system.cleanup(name);
      return { rate: n / seconds, seconds, jobs: n, nodeCpu, redisCpu };
    });
  } finally {
    failRef.fail = () => {};
    await res.closeAll();
  }
}
