// One node:http server on this process's event loop: listen, serve, shut down
// gracefully. Used by server.js and by every worker of cluster.js.
import http from 'node:http';
import { createApp } from './app.js';
import { OffloadPool } from './offload.js';

// node:http counts the request target and the header names and values against
// maxHeaderSize (not the method, version, ': ' or CRLFs). SPEC: heads up to 8 KiB
// must pass, heads of 16 KiB or more must get 431; 12 KiB sits between with room
// for the uncounted bytes.
export const MAX_HEADER_SIZE = 12 * 1024;
const BACKLOG = 4096;
const KEEP_ALIVE_MS = 60_000; // SPEC: keep idle connections at least 30 s
const GRACE_MS = 1500; // in-flight requests get this long after SIGTERM

const OFFLOAD = {
  'event-loop': '/cpu and /work run on a pool of OFFLOAD_THREADS worker_threads; ' +
    "/hash uses the async crypto.pbkdf2, which runs on libuv's thread pool (UV_THREADPOOL_SIZE)",
  cluster: 'as node/event-loop, inside the worker process that accepted the connection: ' +
    "/cpu and /work on its OFFLOAD_THREADS worker_threads, /hash on its libuv pool (UV_THREADPOOL_SIZE)",
};

// Serves `model` with `config` (lib/config.js). `worker` is the cluster worker id or
// null; `announce` prints the readiness line (the cluster primary prints its own).
export function serve({ model, config, worker = null, announce = true }) {
  const target = `node/${model}`;
  const { host, port, knobs } = config;
  const info = {
    target,
    runtime: 'node',
    model,
    version: process.version,
    pid: process.pid,
    worker,
    knobs,
    offload: OFFLOAD[model],
  };
  const app = createApp({ info, pool: new OffloadPool(knobs.OFFLOAD_THREADS) });

  const server = http.createServer({
    maxHeaderSize: MAX_HEADER_SIZE,
    keepAliveTimeout: KEEP_ALIVE_MS,
    requireHostHeader: false, // checked in the app, to answer with a JSON error
  }, app.onRequest);
  server.on('clientError', app.onClientError);

  const failToStart = (err) => {
    console.error(`${target}: cannot listen on ${host}:${port}: ${err.message}`);
    process.exit(1);
  };
  server.once('error', failToStart);
  server.listen({ host, port, backlog: BACKLOG }, () => {
    server.off('error', failToStart);
    // Once listening, 'error' means accept() failed (EMFILE when out of descriptors):
    // without a listener the process would crash; log it and keep serving.
    let lastLog = 0;
    server.on('error', (err) => {
      if (Date.now() - lastLog < 1000) return;
      lastLog = Date.now();
      console.error(`${target}: ${err.message}`);
    });
    if (announce) {
      const { port: bound } = server.address();
      console.error(`${target} listening on http://${host}:${bound} (pid ${process.pid})`);
    }
  });

  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    app.startClosing(); // responses to in-flight requests now close their connections
    server.close(() => process.exit(0)); // stop accepting; called once all connections ended
    server.closeIdleConnections(); // idle keep-alive connections go at once
    // Whatever still runs after the grace period is cut off. (A timer cannot fire while
    // an inline /cpu spin holds the loop: a blocked loop handles no signal either.)
    setTimeout(() => process.exit(0), GRACE_MS).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  return server;
}
