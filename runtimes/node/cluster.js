// node/cluster: a primary process forks WORKERS copies of the event-loop server
// (node:cluster) that share one listening socket.
//
// What it teaches: an event loop is one thread, so a Node process uses one core for
// JavaScript; to use more, run more processes. Each worker is a whole node/event-loop
// server with its own loop, heap, offload threads and libuv pool; a /cpu spin blocks
// only the worker that accepted its connection. By default on Linux the primary
// accepts every connection and hands it to the workers in turn (round-robin);
// NODE_CLUSTER_SCHED_POLICY=none lets the workers accept() on the shared socket
// themselves and the kernel choose.
import cluster from 'node:cluster';
import { ConfigError, readConfig } from './lib/config.js';
import { serve } from './lib/serve.js';

const MODEL = 'cluster';
const TARGET = `node/${MODEL}`;
const STOP_DEADLINE_MS = 1800; // SPEC: everything gone within 2 s of SIGTERM

let config;
try {
  config = readConfig(MODEL);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`${TARGET}: ${err.message}`);
  process.exit(2);
}

if (cluster.isPrimary) {
  runPrimary(config);
} else {
  serve({ model: MODEL, config, worker: cluster.worker.id, announce: false });
}

function runPrimary({ host, port, knobs }) {
  const alive = new Set();
  const listened = new Set();
  let ready = false;
  let stopping = false;
  let exitCode = 0;

  const fork = () => alive.add(cluster.fork());

  cluster.on('listening', (worker, address) => {
    listened.add(worker);
    if (!ready && listened.size === knobs.WORKERS) {
      ready = true;
      console.error(`${TARGET} listening on http://${host}:${address.port} ` +
        `(pid ${process.pid}, ${knobs.WORKERS} workers)`);
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    alive.delete(worker);
    if (stopping) {
      if (alive.size === 0) process.exit(exitCode);
      return;
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!listened.has(worker)) {
      // It never served (the port is taken, say): restarting would only loop.
      console.error(`${TARGET}: worker ${worker.id} exited with ${how} before listening; stopping`);
      stop(1);
      return;
    }
    // A worker that dies while serving is replaced, as a production cluster would,
    // so the target keeps WORKERS processes; the log line makes the crash visible.
    console.error(`${TARGET}: worker ${worker.id} (pid ${worker.process.pid}) died with ${how}; ` +
      'forking a replacement');
    fork();
  });

  // Each worker shuts down like node/event-loop (stop accepting, finish in-flight
  // requests, exit 0); the primary waits for them, and kills any that overrun.
  function stop(code) {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    if (alive.size === 0) process.exit(exitCode);
    for (const worker of alive) worker.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of alive) worker.process.kill('SIGKILL');
      process.exit(exitCode);
    }, STOP_DEADLINE_MS).unref();
  }
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));

  for (let i = 0; i < knobs.WORKERS; i++) fork();
}
