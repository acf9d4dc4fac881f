// The board on a serial port (USB CDC /dev/ttyACM0, a USB-UART, or a pseudo-terminal in tests): 115200 8N1.
import { SerialPort } from 'serialport';
import { CloseSignal, InputBuffer, type ByteTransport } from './transport.ts';

export interface SerialTransportOptions {
  baudRate?: number;
}

export class SerialTransport implements ByteTransport {
  readonly description: string;
  private readonly input = new InputBuffer();
  private readonly closeSignal = new CloseSignal();
  private closing = false;
  /** Settles when the port closes: a write or flush in flight on a vanishing port may never call back. */
  private readonly whenClosed: Promise<void>;

  private constructor(
    private readonly port: SerialPort,
    readonly path: string,
  ) {
    this.description = `serial ${path}`;
    this.whenClosed = new Promise((resolve) => this.closeSignal.on(() => resolve()));
    port.on('data', (data: Buffer) => this.input.push(data));
    port.on('close', (err?: Error | null) => this.finish(err ?? undefined));
    port.on('error', (err: Error) => {
      // An error while open (e.g. the adapter was unplugged) ends the link; reads must not wait for it.
      if (!this.closing) this.finish(err);
    });
  }

  static async open(path: string, options: SerialTransportOptions = {}): Promise<SerialTransport> {
    const baudRate = options.baudRate ?? 115200;
    const port = new SerialPort({ path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) =>
        err ? reject(new Error(`cannot open serial port ${path} (${baudRate} 8N1): ${err.message}`)) : resolve(),
      ),
    );
    return new SerialTransport(port, path);
  }

  get closed(): boolean {
    return this.closeSignal.done;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.description} is closed`));
    const written = new Promise<void>((resolve, reject) =>
      this.port.write(Buffer.from(bytes), (err) =>
        err ? reject(new Error(`writing to ${this.description} failed: ${err.message}`)) : resolve(),
      ),
    );
    const gone = this.whenClosed.then(() => {
      throw new Error(`writing to ${this.description} failed: the port closed`);
    });
    gone.catch(() => {});
    return Promise.race([written, gone]);
  }

  read(n: number, timeoutMs: number): Promise<Buffer> {
    return this.input.read(n, timeoutMs);
  }

  async drain(): Promise<number> {
    // Bytes still in the OS buffer are flushed too, then whatever Node already took in.
    if (!this.closed) await Promise.race([new Promise<void>((resolve) => this.port.flush(() => resolve())), this.whenClosed]);
    return this.input.discard();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      if (!this.port.isOpen) return resolve();
      // A port that is vanishing may never call back (its disconnect is closing it already): do not wait long.
      const timer = setTimeout(resolve, 1000);
      this.port.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.finish();
  }

  onClose(listener: (cause?: Error) => void): void {
    this.closeSignal.on(listener);
  }

  private finish(cause?: Error): void {
    if (this.closeSignal.done) return;
    const error = cause
      ? new Error(`${this.description} closed: ${cause.message}`)
      : new Error(`${this.description} is closed`);
    this.input.fail(error);
    this.closeSignal.fire(this.closing ? undefined : error);
  }
}
