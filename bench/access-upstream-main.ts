// The access-checking test upstream as its own process, for benchmarks: the gateway's upstream is
// another server in production, and here it gets its own event loop (and core, when one is free).
// Prints one JSON line {url, demoUrl} when ready; runs until killed. Users: bench-user-0..99, each
// with full rights on every Subscription.
import { startAccessUpstream } from '../test/support/access-upstream.js';

const up = await startAccessUpstream();
for (let i = 0; i < 100; i++) up.setUser(`Bearer bench-user-${i}`, { rights: { '*': ['read', 'write'] }, allSubscriptions: true });
// The request log is for tests; a long benchmark must not grow it without bound.
setInterval(() => up.requests.splice(0), 1000).unref();
process.stdout.write(`${JSON.stringify({ url: up.url, demoUrl: up.demo.url })}\n`);
const stop = () => void up.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
