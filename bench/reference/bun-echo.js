// The reference the issue measures against: Bun's built-in WebSocket server (uWebSockets on its own epoll loop), serving
// the same /echo as the benchmark's servers, plus the /stats the load generator reads (pid for CPU and RSS; Bun's heap
// stands in for the GC heap; allocation is not measured). bench/reference/run-bun.sh installs Bun from npm and runs it.
//   bun bun-echo.js [--port 9300] [--stats-port 9399] [--deflate]
const args = process.argv.slice(2);
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
const port = Number(option("--port", "9300"));
const statsPort = Number(option("--stats-port", "9399"));
const deflate = args.includes("--deflate");

Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch(request, server) {
    if (new URL(request.url).pathname === "/echo" && server.upgrade(request)) return;
    return new Response("not found", { status: 404 });
  },
  websocket: {
    message(ws, message) { ws.send(message, deflate); },
    perMessageDeflate: deflate,
    maxPayloadLength: 64 * 1024 * 1024,
    backpressureLimit: 64 * 1024 * 1024,
    idleTimeout: 0,
  },
});

Bun.serve({
  hostname: "127.0.0.1",
  port: statsPort,
  fetch() {
    const memory = process.memoryUsage();
    return new Response(JSON.stringify({
      pid: process.pid, allocatedBytes: 0, gcHeapBytes: memory.heapUsed, gcHeapSizeBytes: memory.heapTotal,
      gcCommittedBytes: memory.heapTotal, workingSetBytes: memory.rss, gcCount: 0,
    }) + "\n");
  },
});
console.log(`bun echo: port=${port} stats=${statsPort} deflate=${deflate} pid=${process.pid}`);
