// An MJPEG stream server that a test drives by hand (node:http, real sockets): frames go out when the test sends them.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { expect } from 'vitest';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stream server the test drives by hand: each GET /stream becomes a client that frames are written to. */
export class StreamServer {
  server!: Server;
  url = '';
  clients: ServerResponse[] = [];
  snapshot: Buffer = Buffer.alloc(0);

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=frameboundary', 'Cache-Control': 'no-store' });
        this.clients.push(res);
      } else if (req.url === '/snapshot') {
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': this.snapshot.length });
        res.end(this.snapshot);
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not here');
      }
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  get client(): ServerResponse {
    const c = this.clients.at(-1);
    if (!c) throw new Error('no client connected');
    return c;
  }

  async waitForClients(n: number): Promise<void> {
    for (let i = 0; i < 200 && this.clients.length < n; i++) await sleep(10);
    expect(this.clients.length).toBeGreaterThanOrEqual(n);
  }

  /** One part; without Content-Length the reader must find the JPEG's end itself. Optionally in small pieces. */
  async send(jpeg: Buffer, { length = true, pieces = 1 } = {}): Promise<void> {
    const head = `--frameboundary\r\nContent-Type: image/jpeg\r\n${length ? `Content-Length: ${jpeg.length}\r\n` : ''}\r\n`;
    const part = Buffer.concat([Buffer.from(head), jpeg, Buffer.from('\r\n')]);
    const size = Math.ceil(part.length / pieces);
    for (let i = 0; i < part.length; i += size) {
      this.client.write(part.subarray(i, i + size));
      if (pieces > 1) await sleep(5);
    }
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
