import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that delays every chunk by `oneWayMs` in each
 * direction, so a round trip through it costs about 2 × oneWayMs more: a
 * local server made to answer like one across a network. Order is kept:
 * Node runs timers of equal duration in the order they were set.
 *
 * @param {{ host: string, port: number, oneWayMs: number }} target
 * @returns {Promise<{ port: number, close(): Promise<void> }>}
 */
export async function startLatencyProxy({ host, port, oneWayMs }) {
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    forwardDelayed(client, upstream, oneWayMs);
    forwardDelayed(upstream, client, oneWayMs);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function forwardDelayed(from, to, ms) {
  from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), ms));
  from.once('end', () => setTimeout(() => to.destroyed || to.end(), ms));
  from.once('error', () => to.destroy());
}
