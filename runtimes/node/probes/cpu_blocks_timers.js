// A CPU loop inside an async function blocks the one thread that runs
// JavaScript: a 10 ms timer cannot fire until the loop is over.
const LOOP_MS = 200;
const set = performance.now();
let fired = false;
setTimeout(() => {
  fired = true;
  const late = performance.now() - set >= LOOP_MS;
  console.log(`4 timer: fires only after the loop, ${late ? "at least" : "less than"} ${LOOP_MS} ms after it was set`);
}, 10);

async function handler() {
  console.log(`1 handler: a ${LOOP_MS} ms CPU loop, no await inside`);
  const end = performance.now() + LOOP_MS;
  while (performance.now() < end) {} // burns the CPU, never yields
  console.log(`2 handler: loop done; the 10 ms timer has ${fired ? "fired" : "not fired"}`);
}

await handler();
console.log("3 script: handler resolved, the loop is free again");
