// The virtual device's outside interfaces on 127.0.0.1: video as MJPEG over HTTP (/stream, /snapshot),
// its state as JSON (/state), and the board's serial protocol on a raw TCP port (as ser2net exposes a port).
// Fault injection for tests and benches goes through a few control routes on the same HTTP server
// (POST /board/restart, POST /board/unplug, GET /board), given by the caller.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { BoardProtocol, attachBoard, type BoardOptions, type HidSink } from './board.ts';
import type { ScreenView } from './view.ts';
import { VideoFaults, videoFaultRoute } from './video-faults.ts';

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

/** A control request: the method, the path, and the query parameters. */
export interface ControlRequest {
  method: string;
  path: string;
  query: URLSearchParams;
}

/** A control route's answer, sent as JSON; undefined when no route has that path. */
export type ControlHandler = (req: ControlRequest) => Promise<{ status: number; body: unknown } | undefined>;

export interface VideoServerOptions {
  fps?: number;
  port?: number;
  /** Called with a render error (the stream keeps going with the last good frame). */
  onError?: (err: Error) => void;
  /** Routes beyond the video and the state (fault injection); asked first. */
  control?: ControlHandler;
  /**
   * Raw routes asked before all others (the PiKVM API of sim/pikvm-api.ts): returns true when it answered.
   * It is given this server's own /stream and /snapshot handlers, to serve them under its own paths.
   */
  routes?: (req: IncomingMessage, res: ServerResponse, video: { stream(req: IncomingMessage, res: ServerResponse): void; snapshot(res: ServerResponse): void }) => boolean;
  /** POST /device/reboot: the device restarts unexpectedly (sim/device.ts rebootUnexpectedly); absent: 404. */
  reboot?: () => unknown;
}

/** HTTP: GET /stream (multipart/x-mixed-replace JPEG parts at `fps`), /snapshot (one JPEG), /state (JSON). */
export async function startVideoServer(source: VideoSource, frames: FrameCache, opts: VideoServerOptions = {}): Promise<RunningServer> {
  const fps = opts.fps ?? 5;
  if (!(fps > 0 && fps <= 60)) throw new Error(`fps must be between 0 and 60, got ${fps}`);
  const streams = new Set<ServerResponse>();
  let lastGood: Buffer | null = null;
  const videoFaults = new VideoFaults();

  const frame = async (): Promise<Buffer> => {
    try {
      lastGood = await frames.current();
    } catch (err) {
      opts.onError?.(err as Error);
      if (!lastGood) throw err;
    }
    // The grabber's faults (POST /video/black, /video/freeze, /video/size) sit between the device and the wire.
    return videoFaults.apply(lastGood!);
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

  const sendSnapshot = (res: ServerResponse) => {
    frame().then(
      (jpeg) => res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length, 'Cache-Control': 'no-store' }).end(jpeg),
      (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`render failed: ${err.message}\n`),
    );
  };

  const server = createHttpServer((req, res) => {
    if (opts.routes?.(req, res, { stream: handleStream, snapshot: sendSnapshot })) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/video' || path.startsWith('/video/') || path === '/device/reboot') {
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
      const answer = path === '/device/reboot'
        ? (req.method !== 'POST' ? { status: 405, body: { error: 'POST /device/reboot' } }
          : opts.reboot ? { status: 200, body: { rebooting: true, ...(opts.reboot() as object | undefined) } } : undefined)
        : videoFaultRoute(videoFaults, req.method ?? 'GET', path, query);
      if (!answer) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`no ${req.method} ${path}\n`);
      return void res.writeHead(answer.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(answer.body));
    }
    if (opts.control && path.startsWith('/board')) {
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
      opts.control({ method: req.method ?? 'GET', path, query }).then(
        (answer) => {
          if (!answer) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`no ${req.method} ${path}\n`);
          res.writeHead(answer.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(answer.body));
        },
        (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${err.message}\n`),
      );
      return;
    }
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

export interface BoardServer extends RunningServer {
  /** The one board behind the port (a set, as the callers knew it). */
  boards: Set<BoardProtocol>;
  /**
   * The line goes away for `ms`: open connections are cut and new ones refused, then the port listens again
   * at the same address. The board keeps running (and keeps its last response), as behind a ser2net whose
   * network went away. Resolves when the port listens again.
   */
  unplug(ms: number): Promise<void>;
  readonly unplugged: boolean;
}

/**
 * The board on a raw TCP port, as ser2net serves one serial port: one board, whatever connection its bytes
 * come from; its answers go to the connection that spoke last.
 */
export async function startBoardServer(sink: HidSink, opts: BoardOptions & { port?: number } = {}): Promise<BoardServer> {
  const sockets = new Set<Socket>();
  const board = new BoardProtocol(sink, () => { /* no connection yet */ }, opts);
  const boards = new Set<BoardProtocol>([board]);
  let unplugged = false;
  let closed = false;
  const server = createTcpServer((socket) => {
    if (unplugged) return void socket.destroy();
    socket.setNoDelay(true);
    sockets.add(socket);
    // Whoever speaks is who the board answers (this listener runs before the board reads the bytes).
    socket.on('data', () => board.attach((bytes) => { if (!socket.destroyed) socket.write(bytes); }));
    const detach = attachBoard(board, socket);
    socket.on('close', () => { sockets.delete(socket); detach(); });
    socket.on('error', () => socket.destroy());
  });
  await listen(server, opts.port ?? 0);
  const address = addressOf(server);
  const port = Number(address.split(':').at(-1));
  return {
    address,
    boards,
    get unplugged() { return unplugged; },
    unplug: async (ms: number) => {
      if (unplugged || closed) return;
      unplugged = true;
      // Stop listening first, so a host that reconnects at once is refused rather than accepted and cut.
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await stopped;
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (!closed) await listen(server, port);
      unplugged = false;
    },
    close: async () => {
      closed = true;
      board.close();
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
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
