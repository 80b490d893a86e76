// An async function runs synchronously until its first await; even awaiting a
// value that is already there suspends it until the microtask queue runs.
async function handler() {
  console.log("2 handler: runs synchronously, inside the call");
  await null; // nothing to wait for, but the rest is still deferred
  console.log("5 handler: resumes after the await, as a microtask");
}

console.log("1 script: calling handler()");
const pending = handler();
console.log("3 script: handler() returned a pending Promise");
pending.then(() => console.log("6 script: the Promise resolved"));
console.log("4 script: end of the synchronous code");
