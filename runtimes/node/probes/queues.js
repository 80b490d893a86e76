// Inside an I/O callback, Node drains process.nextTick's queue, then the Promise
// microtasks, then runs setImmediate (check phase) before setTimeout(0) (timers
// phase of the next loop iteration). The probe starts in I/O because at the top
// of an ES module both orders differ: the module body itself runs as a microtask,
// so Promise callbacks run before nextTick ones, and setTimeout(0) and setImmediate
// run in either order, depending on timing.
import { readFile } from "node:fs";

readFile(new URL(import.meta.url), () => {
  console.log("1 I/O callback: scheduling four callbacks");
  setTimeout(() => console.log("6 setTimeout(0): timers phase, next iteration"), 0);
  setImmediate(() => console.log("5 setImmediate: check phase, right after I/O"));
  Promise.resolve().then(() => console.log("4 Promise microtask: after the nextTick queue"));
  process.nextTick(() => console.log("3 process.nextTick: first, once the callback returns"));
  console.log("2 I/O callback: returns (synchronous code always runs to the end)");
});
