// One thread of the offload pool (lib/offload.js): its own V8 isolate and event loop,
// so a spin here leaves the main event loop free.
import { parentPort } from 'node:worker_threads';
import { spin, work } from './work.js';

const operations = {
  cpu: (ms) => spin(ms),
  work: (n) => work(n),
};

parentPort.on('message', ({ op, arg }) => {
  parentPort.postMessage(operations[op](arg) ?? null);
});
