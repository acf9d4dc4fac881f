// A pseudo-terminal that looks like the board's serial port: socat creates the pty and bridges its master
// end to its own stdin/stdout, which this process reads and writes. socat prints the /dev/pts/N name on stderr.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, rmSync } from 'node:fs';
import { Duplex } from 'node:stream';

export interface PtyBridge {
  /** The serial device a host opens, e.g. /dev/pts/3. */
  path: string;
  /** A symbolic link to `path` that socat keeps while it runs (and removes when it ends), when asked for. */
  link?: string;
  /** The board's end: bytes the host writes come out here; bytes written here reach the host. */
  stream: Duplex;
  close(): Promise<void>;
}

export function socatAvailable(): boolean {
  const r = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  return r.status === 0;
}

export interface PtyOptions {
  /**
   * A stable name for the pty (socat's link= option): a board that vanishes and comes back gets a new
   * /dev/pts/N, but the link is at the same path again, as /dev/serial/by-id names are for a real board.
   */
  link?: string;
}

/** Starts socat with a raw pty; resolves once socat has said which /dev/pts/N it made. */
export async function startPty(timeoutMs = 5000, opts: PtyOptions = {}): Promise<PtyBridge> {
  if (opts.link) rmSync(opts.link, { force: true }); // a link left by a socat that was killed hard
  const address = `pty,raw,echo=0${opts.link ? `,link=${opts.link}` : ''}`;
  const child: ChildProcess = spawn('socat', ['-d', '-d', address, 'STDIO'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  const path = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`socat did not report a pty within ${timeoutMs} ms: ${stderr.trim() || '(no output)'}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start socat (is it installed?): ${err.message}`));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`socat exited (${code}) before making a pty: ${stderr.trim()}`));
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /PTY is (\/dev\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  child.removeAllListeners('exit');
  child.stderr!.resume(); // keep draining socat's log so it never blocks
  if (opts.link) {
    // socat may name the pty before it makes the link: the link is what a host opens, so wait for it.
    const until = Date.now() + timeoutMs;
    while (!existsSync(opts.link)) {
      if (Date.now() > until || child.exitCode !== null) {
        child.kill('SIGTERM');
        throw new Error(`socat made ${path} but not the link ${opts.link} within ${timeoutMs} ms: ${stderr.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  // Holding the slave end open keeps the pty alive while no host has it open (some socat versions end on
  // the EIO that a master gets when the last slave closes). This fd is never read.
  let holder: number | null = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);

  const stream = new Duplex({
    read() { /* data is pushed as socat sends it */ },
    write(chunk: Buffer, _enc, done) {
      if (child.stdin!.destroyed) return done();
      child.stdin!.write(chunk, () => done());
    },
  });
  child.stdout!.on('data', (d: Buffer) => stream.push(d));
  child.stdout!.on('end', () => stream.push(null));
  child.stdin!.on('error', () => { /* socat went away; close() reports nothing more */ });

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    path,
    ...(opts.link ? { link: opts.link } : {}),
    stream,
    async close() {
      if (holder !== null) {
        closeSync(holder);
        holder = null;
      }
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      if (opts.link) rmSync(opts.link, { force: true });
      stream.destroy();
    },
  };
}
