// A fixed pool of worker_threads for offload=1 on /cpu and /work (OFFLOAD_THREADS).
//
// Node has no built-in pool for JavaScript work: libuv's thread pool runs C++ work
// only (crypto, fs, zlib, dns.lookup). So this is the classic hand-written one: a
// FIFO queue of jobs and a list of idle workers; a job goes to an idle worker, and a
// worker that finishes takes the next job. Messages cross threads by structured clone.
import { Worker } from 'node:worker_threads';

const WORKER_FILE = new URL('./offload-worker.js', import.meta.url);

export class OffloadPool {
  #idle = [];
  #queue = [];
  #running = new Map(); // worker -> job it is running

  constructor(size) {
    for (let i = 0; i < size; i++) this.#idle.push(this.#spawn());
  }

  // Resolves with the worker's result once a thread has run the job.
  run(op, arg) {
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, arg, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch() {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const worker = this.#idle.pop();
      const job = this.#queue.shift();
      this.#running.set(worker, job);
      worker.ref(); // a busy worker keeps the process alive, an idle one does not
      worker.postMessage({ op: job.op, arg: job.arg });
    }
  }

  #spawn() {
    const worker = new Worker(WORKER_FILE);
    worker.unref();
    let failure = null;
    worker.on('message', (result) => {
      const job = this.#running.get(worker);
      this.#running.delete(worker);
      worker.unref();
      this.#idle.push(worker);
      job.resolve(result);
      this.#dispatch();
    });
    worker.on('error', (err) => {
      failure = err;
    });
    // Not expected to happen; if a thread dies anyway, fail its job and replace it.
    worker.on('exit', (code) => {
      const job = this.#running.get(worker);
      this.#running.delete(worker);
      this.#idle = this.#idle.filter((w) => w !== worker);
      job?.reject(failure ?? new Error(`offload thread exited with code ${code}`));
      this.#idle.push(this.#spawn());
      this.#dispatch();
    });
    return worker;
  }
}
