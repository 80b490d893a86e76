// node/event-loop: one process, one libuv event loop, one thread running JavaScript.
//
// What it teaches: every request's JavaScript runs on the same thread, between
// waits. Waiting is cheap (/sleep is a timer; thousands of idle connections cost
// almost nothing), but computing is exclusive: while /cpu spins inline, no other
// request on this process makes progress, and wrapping the spin in a Promise or an
// async function changes nothing, because their bodies run synchronously. Work leaves
// the loop only on another thread: offload=1 sends /cpu and /work to a pool of
// worker_threads (lib/offload.js) and /hash to libuv's thread pool (crypto.pbkdf2).
import { ConfigError, readConfig } from './lib/config.js';
import { serve } from './lib/serve.js';

const MODEL = 'event-loop';

let config;
try {
  config = readConfig(MODEL);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`node/${MODEL}: ${err.message}`);
  process.exit(2);
}
serve({ model: MODEL, config });
