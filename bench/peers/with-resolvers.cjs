// Promise.withResolvers (ES2024) for Node 20: grafast 1.x calls it; Node 22 has it built in.
// Loaded before PostGraphile with NODE_OPTIONS=--require ./with-resolvers.cjs.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((yes, no) => {
      resolve = yes;
      reject = no;
    });
    return { promise, resolve, reject };
  };
}
