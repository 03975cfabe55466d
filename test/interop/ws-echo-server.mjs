// Node's `ws` as an echo server for the client interop tests.
// Usage: node ws-echo-server.mjs [deflate]
// Listens on 127.0.0.1 (a free port) and prints one line "listening <port>". Echoes every message with its type; a text
// message "close:<code>:<reason>" makes it close with that code instead. A close from the client is echoed by ws itself.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { WebSocketServer } = require('ws');

const deflate = process.argv[2] === 'deflate';
const server = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: 64 * 1024 * 1024,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
});

server.on('listening', () => console.log(`listening ${server.address().port}`));
server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    if (!isBinary) {
      const text = data.toString('utf8');
      if (text.startsWith('close:')) {
        const [, code, ...reason] = text.split(':');
        socket.close(Number(code), reason.join(':'));
        return;
      }
    }
    socket.send(data, { binary: isBinary });
  });
});
