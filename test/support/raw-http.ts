import net from 'node:net';

export interface RawAnswer {
  /** Everything the server sent, as latin1 text. */
  data: string;
  /** True when the server closed the connection before the wait ran out. */
  closed: boolean;
  /** Status codes of the responses in data, in order. */
  statuses: number[];
}

/**
 * Writes bytes exactly as given on a fresh TCP connection (no client library normalises or frames
 * them) and collects what comes back until the server closes or waitMs passes.
 */
export function rawExchange(port: number, bytes: string | Buffer, waitMs = 2000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ data, closed, statuses: [...data.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])) });
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? done(true) : reject(err)));
    socket.on('close', () => done(true));
    socket.write(bytes);
  });
}

/** The body of the first response in a raw answer. */
export function firstBody(answer: RawAnswer): string {
  const start = answer.data.indexOf('\r\n\r\n') + 4;
  const length = /\r\ncontent-length: (\d+)/i.exec(answer.data)?.[1];
  return length === undefined ? answer.data.slice(start) : answer.data.slice(start, start + Number(length));
}
