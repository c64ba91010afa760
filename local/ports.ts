import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** Address every local-cloud service binds to: loopback only, never a public interface. */
const LOOPBACK = '127.0.0.1';

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago.
 *
 * The port is released before it is returned, so another process could take it in between;
 * callers that can bind port 0 themselves should prefer that. This is for programs (Pebble)
 * that must be told their port on the command line or in a config file.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error(`unexpected server address ${String(address)}`);
  }
  return address.port;
}

/** Resolves true if a UDP socket can bind `port` on 127.0.0.1 right now. */
async function udpPortIsFree(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  return new Promise<boolean>((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, LOOPBACK, () => {
      socket.close(() => resolve(true));
    });
  });
}

/**
 * Returns a port number free for both TCP and UDP on 127.0.0.1.
 *
 * A DNS server needs one number for both transports (resolvers retry over TCP on the same
 * port after a truncated UDP answer), and the kernel hands out the two independently, so a
 * free TCP port is probed for UDP and the search retried a few times.
 *
 * @throws Error if no such port is found after 20 attempts.
 */
export async function freeUdpAndTcpPort(): Promise<number> {
  const attempts = 20;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = await freePort();
    if (await udpPortIsFree(port)) {
      return port;
    }
  }
  throw new Error(`no port free for both TCP and UDP on ${LOOPBACK} after ${attempts} attempts`);
}
