// Listen address and knobs from the environment (SPEC sections 1 and 7).
import os from 'node:os';

export class ConfigError extends Error {}

// libuv reads UV_THREADPOOL_SIZE by itself, the first time its pool is used, and caps
// it at 1024; we validate it and report the value libuv will use.
const UV_THREADPOOL_MAX = 1024;

function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < 1 || !Number.isSafeInteger(value)) {
    throw new ConfigError(`${name} must be an integer >= 1, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function port() {
  const raw = process.env.PORT ?? '8080';
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value > 65535) {
    throw new ConfigError(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return value;
}

// Knobs in effect for `model` ('event-loop' or 'cluster'), defaults resolved.
export function readConfig(model) {
  const knobs = {
    UV_THREADPOOL_SIZE: Math.min(positiveInt('UV_THREADPOOL_SIZE', 4), UV_THREADPOOL_MAX),
    OFFLOAD_THREADS: positiveInt('OFFLOAD_THREADS', 4),
  };
  if (model === 'cluster') {
    // availableParallelism() counts the CPUs in the process's affinity mask
    // (sched_getaffinity), so a server pinned with taskset or a cpuset sizes itself.
    knobs.WORKERS = positiveInt('WORKERS', os.availableParallelism());
  }
  return { host: process.env.HOST || '127.0.0.1', port: port(), knobs };
}
