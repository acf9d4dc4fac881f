// The virtual device's outside interfaces on 127.0.0.1: video as MJPEG over HTTP (/stream, /snapshot),
// its state as JSON (/state), and the board's serial protocol on a raw TCP port (as ser2net exposes a port).
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { serveBoard, type BoardOptions, type BoardProtocol, type HidSink } from './board.ts';
import type { ScreenView } from './view.ts';

export const HOST = '127.0.0.1';
const BOUNDARY = 'autopilot-hil-frame';

/** What the HTTP server needs from the device. */
export interface VideoSource {
  view(): ScreenView;
  readonly viewVersion: number;
  state(): unknown;
}

/** Keeps the JPEG of the current view: renders again only when the view changed. */
export class FrameCache {
  private cached: { version: number; jpeg: Promise<Buffer> } | null = null;

  constructor(
    private readonly source: VideoSource,
    private readonly render: (view: ScreenView) => Promise<Buffer>,
  ) {}

  current(): Promise<Buffer> {
    const version = this.source.viewVersion;
    if (!this.cached || this.cached.version !== version) {
      const jpeg = this.render(this.source.view());
      jpeg.catch(() => { if (this.cached?.jpeg === jpeg) this.cached = null; });
      this.cached = { version, jpeg };
    }
    return this.cached.jpeg;
  }
}

export interface RunningServer {
  /** host:port */
  address: string;
  close(): Promise<void>;
}

export interface VideoServerOptions {
  fps?: number;
  port?: number;
  /** Called with a render error (the stream keeps going with the last good frame). */
  onError?: (err: Error) => void;
}

/** HTTP: GET /stream (multipart/x-mixed-replace JPEG parts at `fps`), /snapshot (one JPEG), /state (JSON). */
export async function startVideoServer(source: VideoSource, frames: FrameCache, opts: VideoServerOptions = {}): Promise<RunningServer> {
  const fps = opts.fps ?? 5;
  if (!(fps > 0 && fps <= 60)) throw new Error(`fps must be between 0 and 60, got ${fps}`);
  const streams = new Set<ServerResponse>();
  let lastGood: Buffer | null = null;

  const frame = async (): Promise<Buffer> => {
    try {
      lastGood = await frames.current();
    } catch (err) {
      opts.onError?.(err as Error);
      if (!lastGood) throw err;
    }
    return lastGood!;
  };

  const handleStream = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      Connection: 'close',
    });
    streams.add(res);
    let busy = false;
    const sendOne = async () => {
      // A slow reader gets fewer frames rather than a growing buffer.
      if (busy || res.writableNeedDrain || res.destroyed) return;
      busy = true;
      try {
        const jpeg = await frame();
        if (res.destroyed) return;
        res.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
        res.write(jpeg);
        res.write('\r\n');
      } catch {
        res.destroy();
      } finally {
        busy = false;
      }
    };
    void sendOne();
    const timer = setInterval(() => void sendOne(), 1000 / fps);
    const stop = () => { clearInterval(timer); streams.delete(res); };
    req.on('close', stop);
    res.on('close', stop);
  };

  const server = createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET' }).end();
      return;
    }
    if (path === '/stream') return handleStream(req, res);
    if (path === '/snapshot') {
      frame().then(
        (jpeg) => res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length, 'Cache-Control': 'no-store' }).end(jpeg),
        (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`render failed: ${err.message}\n`),
      );
      return;
    }
    if (path === '/state') {
      const body = JSON.stringify(source.state());
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(body);
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('autopilot-hil virtual device: /stream /snapshot /state\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`no ${path}: try /stream, /snapshot or /state\n`);
  });

  await listen(server, opts.port ?? 0);
  return {
    address: addressOf(server),
    close: async () => {
      for (const res of streams) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The board on a raw TCP port: each connection is a serial line to the same device. */
export async function startBoardServer(sink: HidSink, opts: BoardOptions & { port?: number } = {}): Promise<RunningServer & { boards: Set<BoardProtocol> }> {
  const sockets = new Set<Socket>();
  const boards = new Set<BoardProtocol>();
  const server = createTcpServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    const board = serveBoard(socket, sink, opts);
    boards.add(board);
    socket.on('close', () => { sockets.delete(socket); boards.delete(board); });
    socket.on('error', () => socket.destroy());
  });
  await listen(server, opts.port ?? 0);
  return {
    address: addressOf(server),
    boards,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: Server | ReturnType<typeof createHttpServer>, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function addressOf(server: Server | ReturnType<typeof createHttpServer>): string {
  const a = server.address() as AddressInfo;
  return `${HOST}:${a.port}`;
}
