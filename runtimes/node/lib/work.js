// The three kinds of work the endpoints do (SPEC section 5). Pure functions, shared
// by the event loop and by the offload worker threads.

// PBKDF2-HMAC-SHA256 parameters of /hash.
export const PBKDF2 = Object.freeze({
  password: 'async-runtime-lab',
  salt: 'lab-salt',
  keylen: 32,
  digest: 'sha256',
});

// /cpu: busy-wait on a monotonic clock. Nothing here yields: whichever thread runs
// this is busy for `ms` milliseconds.
export function spin(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

// /work: n rounds of h = (h XOR i) * 0x01000193 on wrapping unsigned 32-bit integers.
// JavaScript numbers are doubles, so the 32-bit arithmetic is explicit: `^` works on
// int32, Math.imul multiplies two int32 keeping the low 32 bits (a plain `*` would
// lose them to rounding), and `>>> 0` reads the final int32 as unsigned.
export function work(n) {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) {
    h = Math.imul(h ^ i, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
