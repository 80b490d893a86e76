// A Promise's executor runs synchronously, inside `new Promise(...)`; only the
// then-callbacks wait, as microtasks, until the synchronous code has finished.
console.log("1 script: before new Promise");
const p = new Promise((resolve) => {
  console.log("2 executor: runs at once, inside the constructor");
  resolve("done");
});
console.log("3 script: after new Promise, the executor has already run");
p.then((value) => console.log(`5 then-callback: '${value}', a microtask after the script`));
console.log("4 script: end of the synchronous code");
