// BullMQ side of the peer driver: W1 throughput, W2 latency, W3 fill.
//
// Settings kept at BullMQ's defaults (stalled-job checks every 30 s, 30 s locks renewed by the
// worker, events stream on, the worker fetching the next job inside moveToFinished), except the
// job options every production deployment sets: removeOnComplete: true (a completed job's keys are
// deleted at once) and removeOnFail: { count: 1000 } (keep the last 1000 failures). W2 keeps the last
// 1000 completed jobs instead (removeOnComplete: { count: 1000 }): job.waitUntilFinished() polls the
// job's state once after subscribing, and with removeOnComplete: true a no-op job is often already
// gone by then, which it reports as "Missing key for job ... isFinished" (a known BullMQ limitation,
// taskforcesh/bullmq#801 and #85). --remove-on-complete overrides the choice for any workload.

import { Queue, Worker, QueueEvents } from 'bullmq';
import {
  Fatal, guarded, info, measureThroughput, noopProcessor, nowNs, payloadOf, queueName, reportLatency, Resources, sleep, within,
} from './common.mjs';

const SYSTEM = 'bullmq';
const JOB_NAME = 'noop';

function jobOptions(o) {
  const keep = o.removeOnComplete ?? (o.workload === 'W2' ? '1000' : 'true');
  return {
    removeOnComplete: keep === 'true' ? true : keep === 'false' ? false : { count: Number(keep) },
    removeOnFail: { count: 1000 },
  };
}

function connection(o, blocking) {
  // Each Queue / Worker / QueueEvents given options (not an instance) opens its own connections.
  return { host: o.host, port: o.port, ...(blocking ? { maxRetriesPerRequest: null } : {}) };
}

function makeQueue(o, res, name, failRef) {
  const q = res.add(new Queue(name, { connection: connection(o, false), defaultJobOptions: jobOptions(o) }));
  q.on('error', (e) => failRef.fail(new Fatal(`queue connection error: ${e.message}`)));
  return q;
}

/** Consumers: one Worker with concurrency C ("one") or C Workers with concurrency 1 ("many"). */
function makeWorkers(o, res, name, failRef, onCompleted) {
  const count = o.shape === 'many' ? o.consumers : 1;
  const concurrency = o.shape === 'many' ? 1 : o.consumers;
  const workers = [];
  const processor = noopProcessor(o);
  for (let i = 0; i < count; i++) {
    const w = res.add(new Worker(name, processor, {
      connection: connection(o, true), concurrency, autorun: true,
    }));
    w.on('completed', onCompleted);
    w.on('failed', (job, err) => failRef.fail(new Fatal(`job ${job?.id} failed: ${err?.message}`)));
    w.on('error', (e) => failRef.fail(new Fatal(`worker error: ${e.message}`)));
    workers.push(w);
  }
  return workers;
}

function shapeText(o) {
  return o.shape === 'many'
    ? `${o.consumers} Workers x concurrency 1 (own connections)`
    : `1 Worker x concurrency ${o.consumers}`;
}

function producerText(o) {
  return o.producer === 'bulk'
    ? `producer queue.addBulk, ${o.chunk} jobs a call, ${o.bulkInflight} call(s) in flight`
    : `producer queue.add, ${o.inflight} in flight`;
}

async function produce(o, queue, n, data) {
  if (o.producer === 'bulk') {
    // o.bulkInflight lanes, each sending its next chunk when its previous one is confirmed.
    let sent = 0;
    const lane = async () => {
      while (sent < n) {
        const k = Math.min(o.chunk, n - sent);
        sent += k;
        const batch = new Array(k);
        for (let j = 0; j < k; j++) batch[j] = { name: JOB_NAME, data };
        await queue.addBulk(batch);
      }
    };
    await Promise.all(Array.from({ length: o.bulkInflight }, lane));
  } else {
    let next = 0;
    const lane = async () => {
      while (next < n) { next++; await queue.add(JOB_NAME, data); }
    };
    await Promise.all(Array.from({ length: Math.min(o.inflight, n) }, lane));
  }
}

async function cleanup(o, name) {
  const q = new Queue(name, { connection: connection(o, false) });
  q.on('error', () => {});
  try {
    await within(30_000, q.obliterate({ force: true }).catch((e) => info(`obliterate ${name}: ${e.message}`)));
  } finally {
    await within(5_000, q.close());
  }
}

export async function w1(o) {
  await measureThroughput(o, {
    name: SYSTEM,
    settings: `${shapeText(o)}; ${producerText(o)}; jobOptions ${JSON.stringify(jobOptions(o))}`,
    newResources: () => new Resources(),
    open: (res, name, failRef, onCompleted) => ({
      producer: makeQueue(o, res, name, failRef),
      workers: makeWorkers(o, res, name, failRef, onCompleted),
    }),
    ready: async (queue, workers) => {
      await queue.waitUntilReady();
      await Promise.all(workers.map((w) => w.waitUntilReady()));
    },
    produce: (queue, n, data) => produce(o, queue, n, data),
    cleanup: (name) => cleanup(o, name),
  });
}

export async function w2(o) {
  const res = new Resources();
  const failRef = { fail: (e) => { failRef.pending ??= e; } };
  const data = payloadOf(o.payload);
  const name = queueName('w2');
  const loop = 'loop: queue.add -> Worker -> completed event in the Redis events stream -> ' +
    'QueueEvents (XREAD) -> job.waitUntilFinished resolves in the submitter';
  info(`W2 ${SYSTEM}: ${o.latencyJobs} jobs one at a time after ${o.latencyWarmup} warm-up; ${shapeText(o)}; ` +
    `jobOptions ${JSON.stringify(jobOptions(o))}; ${loop}`);
  try {
    const samples = await guarded(`W2 (${o.latencyWarmup}+${o.latencyJobs} jobs)`, o.timeoutS, async (fail) => {
      if (failRef.pending) throw failRef.pending;
      failRef.fail = fail;
      const queue = makeQueue(o, res, name, failRef);
      const events = res.add(new QueueEvents(name, { connection: connection(o, true) }));
      events.on('error', (e) => fail(new Fatal(`QueueEvents error: ${e.message}`)));
      const workers = makeWorkers(o, res, name, failRef, () => {});
      await queue.waitUntilReady();
      await events.waitUntilReady();
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      await sleep(200);
      const out = new Float64Array(o.latencyJobs);
      for (let i = 0; i < o.latencyWarmup + o.latencyJobs; i++) {
        const t0 = nowNs();
        const job = await queue.add(JOB_NAME, data);
        await job.waitUntilFinished(events).catch((e) => {
          throw new Fatal(`job ${job.id} failed: ${e?.message ?? e}`);
        });
        const t1 = nowNs();
        if (i >= o.latencyWarmup) out[i - o.latencyWarmup] = Number(t1 - t0) / 1000;
      }
      return out;
    });
    await res.closeAll();
    await cleanup(o, name);
    reportLatency(o, SYSTEM, samples, loop);
  } finally {
    failRef.fail = () => {};
    await res.closeAll();
  }
}

export async function w3(o) {
  const res = new Resources();
  const failRef = { fail: (e) => { failRef.pending ??= e; } };
  const data = payloadOf(o.payload);
  const name = queueName('w3');
  try {
    const seconds = await guarded(`W3 (${o.jobs} jobs)`, o.timeoutS, async (fail) => {
      if (failRef.pending) throw failRef.pending;
      failRef.fail = fail;
      const queue = makeQueue(o, res, name, failRef);
      await queue.waitUntilReady();
      const t0 = nowNs();
      await produce({ ...o, producer: 'bulk' }, queue, o.jobs, data);
      const seconds = Number(nowNs() - t0) / 1e9;
      const waiting = await queue.getWaitingCount();
      if (waiting !== o.jobs) throw new Fatal(`W3: queue holds ${waiting} waiting jobs, expected ${o.jobs}`);
      return seconds;
    });
    info(`W3 ${SYSTEM}: ${o.jobs} jobs of ${o.payload} B added with queue.addBulk (${o.chunk} a call, ${o.bulkInflight} in flight) to queue ` +
      `'${name}' with no workers in ${seconds.toFixed(2)} s (${(o.jobs / seconds).toFixed(0)} jobs/s); left in Redis`);
    process.stdout.write(`FILLED ${o.jobs}\n`);
  } finally {
    failRef.fail = () => {};
    await res.closeAll();
  }
}
