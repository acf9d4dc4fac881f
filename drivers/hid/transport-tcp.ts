// The board behind a TCP socket: ser2net or a similar serial server (tcp://host:port), or the virtual device.
import { connect, type Socket } from 'node:net';
import { CloseSignal, InputBuffer, type ByteTransport } from './transport.ts';

export interface TcpTransportOptions {
  connectTimeoutMs?: number;
}

export class TcpTransport implements ByteTransport {
  readonly description: string;
  private readonly input = new InputBuffer();
  private readonly closeSignal = new CloseSignal();
  private closing = false;

  private constructor(
    private readonly socket: Socket,
    readonly host: string,
    readonly port: number,
  ) {
    this.description = `tcp ${hostPort(host, port)}`;
    socket.on('data', (data: Buffer) => this.input.push(data));
    socket.on('error', (err) => this.finish(err));
    socket.on('close', () => this.finish());
  }

  static open(host: string, port: number, options: TcpTransportOptions = {}): Promise<TcpTransport> {
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    const where = hostPort(host, port);
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const fail = (why: string) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`cannot connect to the HID board at tcp ${where}: ${why}`));
      };
      const timer = setTimeout(() => fail(`no connection within ${timeoutMs} ms`), timeoutMs);
      socket.once('error', (err) => fail(err.message));
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true); // 8-byte requests must leave at once, not wait for Nagle
        resolve(new TcpTransport(socket, host, port));
      });
    });
  }

  get closed(): boolean {
    return this.closeSignal.done;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.description} is closed`));
    return new Promise((resolve, reject) =>
      this.socket.write(Buffer.from(bytes), (err) =>
        err ? reject(new Error(`writing to ${this.description} failed: ${err.message}`)) : resolve(),
      ),
    );
  }

  read(n: number, timeoutMs: number): Promise<Buffer> {
    return this.input.read(n, timeoutMs);
  }

  async drain(): Promise<number> {
    return this.input.discard();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      // A peer that never answers FIN must not hold close() up.
      setTimeout(() => this.socket.destroy(), 500).unref();
    });
    this.finish();
  }

  onClose(listener: (cause?: Error) => void): void {
    this.closeSignal.on(listener);
  }

  private finish(cause?: Error): void {
    if (this.closeSignal.done) return;
    const error = new Error(`${this.description} ${cause ? `failed: ${cause.message}` : 'was closed by the other end'}`);
    this.input.fail(this.closing ? new Error(`${this.description} is closed`) : error);
    this.closeSignal.fire(this.closing ? undefined : error);
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
