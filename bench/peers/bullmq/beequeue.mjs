// bee-queue side of the peer driver: W1 throughput, W2 latency, W3 fill.
//
// Settings kept at bee-queue's defaults (workers publish job events, a stalled-job check at start),
// except: removeOnSuccess: true (the counterpart of BullMQ's removeOnComplete: true); workers call
// checkStalledJobs(stallInterval) as bee-queue's README asks of production workers; queues that
// need no events do not subscribe to them (getEvents: false on workers and on the W1/W3 producer,
// storeJobs: false where nobody waits on a Job object), as the README suggests.

import { createRequire } from 'node:module';
import {
  Fatal, guarded, info, measureThroughput, noopProcessor, nowNs, payloadOf, queueName, reportLatency, Resources, sleep, within,
} from './common.mjs';

const require = createRequire(import.meta.url);
const BeeQueue = require('bee-queue');

const SYSTEM = 'beequeue';
const STALL_INTERVAL_MS = 5000; // bee-queue's default stallInterval

// bee-queue's close() takes a grace period for jobs in flight.
const newResources = () => new Resources((q) => q.close(5000));

function redisOpts(o) {
  return { host: o.host, port: o.port };
}

function makeProducer(o, res, name, failRef, { events }) {
  const q = res.add(new BeeQueue(name, {
    redis: redisOpts(o), isWorker: false, getEvents: events, storeJobs: events,
    removeOnSuccess: true,
  }));
  q.on('error', (e) => failRef.fail(new Fatal(`producer queue error: ${e.message}`)));
  return q;
}

/** Consumers: one Queue with process(C) ("one") or C Queues with process(1) ("many"). */
function makeWorkers(o, res, name, failRef, onSucceeded) {
  const count = o.shape === 'many' ? o.consumers : 1;
  const concurrency = o.shape === 'many' ? 1 : o.consumers;
  const workers = [];
  const processor = noopProcessor(o);
  for (let i = 0; i < count; i++) {
    const w = res.add(new BeeQueue(name, {
      redis: redisOpts(o), isWorker: true, getEvents: false, storeJobs: false,
      removeOnSuccess: true, stallInterval: STALL_INTERVAL_MS,
    }));
    w.on('error', (e) => failRef.fail(new Fatal(`worker queue error: ${e.message}`)));
    w.on('failed', (job, err) => failRef.fail(new Fatal(`job ${job?.id} failed: ${err?.message}`)));
    w.on('succeeded', onSucceeded);
    w.process(concurrency, processor);
    w.checkStalledJobs(STALL_INTERVAL_MS).catch(() => {});
    workers.push(w);
  }
  return workers;
}

function shapeText(o) {
  return o.shape === 'many'
    ? `${o.consumers} worker Queues x process(1) (own connections)`
    : `1 worker Queue x process(${o.consumers})`;
}

function producerText(o) {
  return o.producer === 'bulk'
    ? `producer queue.saveAll, ${o.chunk} jobs a call, ${o.bulkInflight} call(s) in flight`
    : `producer createJob().save(), ${o.inflight} in flight`;
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
        for (let j = 0; j < k; j++) batch[j] = queue.createJob(data);
        const errors = await queue.saveAll(batch);
        if (errors.size) {
          const [, err] = errors.entries().next().value;
          throw new Fatal(`saveAll: ${errors.size} jobs not saved, e.g. ${err.message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: o.bulkInflight }, lane));
  } else {
    let next = 0;
    const lane = async () => {
      while (next < n) { next++; await queue.createJob(data).save(); }
    };
    await Promise.all(Array.from({ length: Math.min(o.inflight, n) }, lane));
  }
}

async function cleanup(o, name) {
  const q = new BeeQueue(name, { redis: redisOpts(o), isWorker: false, getEvents: false });
  q.on('error', () => {});
  try {
    await within(30_000, q.destroy().catch((e) => info(`destroy ${name}: ${e.message}`)));
  } finally {
    await within(5_000, q.close());
  }
}

export async function w1(o) {
  await measureThroughput(o, {
    name: SYSTEM,
    settings: `${shapeText(o)}; ${producerText(o)}; removeOnSuccess: true`,
    newResources,
    open: (res, name, failRef, onSucceeded) => ({
      producer: makeProducer(o, res, name, failRef, { events: false }),
      workers: makeWorkers(o, res, name, failRef, onSucceeded),
    }),
    ready: async (producer, workers) => {
      await producer.ready();
      await Promise.all(workers.map((w) => w.ready()));
    },
    produce: (producer, n, data) => produce(o, producer, n, data),
    cleanup: (name) => cleanup(o, name),
  });
}

export async function w2(o) {
  const res = newResources();
  const failRef = { fail: (e) => { failRef.pending ??= e; } };
  const data = payloadOf(o.payload);
  const name = queueName('w2');
  const loop = 'loop: createJob().save() -> worker -> "succeeded" PUBLISHed on the queue\'s events ' +
    'channel -> producer Queue (SUBSCRIBE) -> job.on("succeeded") fires in the submitter';
  info(`W2 ${SYSTEM}: ${o.latencyJobs} jobs one at a time after ${o.latencyWarmup} warm-up; ${shapeText(o)}; ${loop}`);
  try {
    const samples = await guarded(`W2 (${o.latencyWarmup}+${o.latencyJobs} jobs)`, o.timeoutS, async (fail) => {
      if (failRef.pending) throw failRef.pending;
      failRef.fail = fail;
      const producer = makeProducer(o, res, name, failRef, { events: true });
      const workers = makeWorkers(o, res, name, failRef, () => {});
      await producer.ready();
      await Promise.all(workers.map((w) => w.ready()));
      await sleep(200);
      const out = new Float64Array(o.latencyJobs);
      for (let i = 0; i < o.latencyWarmup + o.latencyJobs; i++) {
        const t0 = nowNs();
        const job = producer.createJob(data);
        const finished = new Promise((resolve, reject) => {
          job.once('succeeded', resolve);
          job.once('failed', (err) => reject(new Fatal(`job ${job.id} failed: ${err?.message ?? err}`)));
        });
        await job.save();
        await finished;
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
  const res = newResources();
  const failRef = { fail: (e) => { failRef.pending ??= e; } };
  const data = payloadOf(o.payload);
  const name = queueName('w3');
  try {
    const seconds = await guarded(`W3 (${o.jobs} jobs)`, o.timeoutS, async (fail) => {
      if (failRef.pending) throw failRef.pending;
      failRef.fail = fail;
      const producer = makeProducer(o, res, name, failRef, { events: false });
      await producer.ready();
      const t0 = nowNs();
      await produce({ ...o, producer: 'bulk' }, producer, o.jobs, data);
      const seconds = Number(nowNs() - t0) / 1e9;
      const health = await producer.checkHealth();
      if (health.waiting !== o.jobs) throw new Fatal(`W3: queue holds ${health.waiting} waiting jobs, expected ${o.jobs}`);
      return seconds;
    });
    info(`W3 ${SYSTEM}: ${o.jobs} jobs of ${o.payload} B added with queue.saveAll (${o.chunk} a call, ${o.bulkInflight} in flight) to queue ` +
      `'${name}' with no workers in ${seconds.toFixed(2)} s (${(o.jobs / seconds).toFixed(0)} jobs/s); left in Redis`);
    process.stdout.write(`FILLED ${o.jobs}\n`);
  } finally {
    failRef.fail = () => {};
    await res.closeAll();
  }
}
