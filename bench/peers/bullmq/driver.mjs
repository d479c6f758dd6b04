#!/usr/bin/env node
// Corvee peer benchmark driver for BullMQ and bee-queue (see README.md).
//
//   node bench/peers/bullmq/driver.mjs --redis 127.0.0.1:PORT --workload W1|W2|W3 [--system bullmq|beequeue] ...
//
// Prints "RESULT <workload> <system> <mode> <value> <unit>" lines (W1, W2), "FILLED <N>" (W3), and
// informational lines starting with "#". Exits 0 on success, 1 on any error, 2 on bad arguments.

import { Fatal, info, parseArgs, waitForRedis } from './common.mjs';

let exiting = false;
function die(code, msg) {
  if (exiting) return;
  exiting = true;
  if (msg) process.stderr.write(`driver.mjs: error: ${msg}\n`);
  // Redis connections that refuse to close must not keep us alive. stdout/stderr are synchronous
  // for files and pipes on Linux, so nothing printed is lost.
  process.exit(code);
}

process.on('unhandledRejection', (e) => die(1, `unhandled rejection: ${e?.stack ?? e}`));
process.on('uncaughtException', (e) => die(1, `uncaught exception: ${e?.stack ?? e}`));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => die(130, `interrupted by ${sig}`));

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof Fatal) { process.stderr.write(`driver.mjs: ${e.message}\n`); process.exit(2); }
    throw e;
  }
  const started = Date.now();
  const version = await waitForRedis(o.host, o.port, o.connectTimeoutS);
  const lib = o.system === 'bullmq' ? await import('./bullmq.mjs') : await import('./beequeue.mjs');
  const pkg = o.system === 'bullmq' ? 'bullmq' : 'bee-queue';
  const { createRequire } = await import('node:module');
  const pkgVersion = createRequire(import.meta.url)(`${pkg}/package.json`).version;
  info(`${pkg} ${pkgVersion}, node ${process.version}, redis ${version} at ${o.host}:${o.port}, mode label '${o.mode}'`);
  await lib[o.workload.toLowerCase()](o);
  info(`${o.workload} ${o.system} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().then(
  () => die(0),
  (e) => die(1, e instanceof Fatal ? e.message : (e?.stack ?? String(e))),
);
