// Watches the capture source and reads frames: a frame equal to the last one costs a hash, nothing more.
import { createHash } from 'node:crypto';
import type { Frame, FrameSource } from '../../drivers/capture/types.ts';
import type { Recognition, ScreenId } from '../vision/types.ts';
import { RunFailure } from './errors.ts';

export interface ScreenReader {
  /**
   * Fast by default (the screen and its fields); `allText` reads every line of the page with its box; `aside`, a
   * frame from before the last one read, which must not change what the reader remembers of the stream.
   */
  read(image: Buffer, opts?: { allText?: boolean; aside?: boolean }): Promise<Recognition>;
}

export interface Observation {
  frame: Frame;
  hash: string;
  rec: Recognition;
  /** True when this frame differs from the one observed before it. */
  changed: boolean;
}

export class Observer {
  private last: Observation | null = null;
  /** The seq of the frame observed before the current one: those between the two were skipped while reading. */
  private seqBefore = 0;
  private deadline: { at: number; why: () => string } | null = null;
  /** When the picture last changed, by its hash: a hung grabber repeats its last frame for good. */
  private sameSince = 0;
  private frozenLimitMs = Number.POSITIVE_INFINITY;

  constructor(
    private readonly capture: FrameSource,
    private readonly reader: ScreenReader,
    private readonly frameTimeoutMs = 15_000,
  ) {}

  get current(): Observation | null {
    return this.last;
  }

  /**
   * After `at` (ms since epoch) every look() fails with category flow and the message `why()` gives: the
   * run's own time limit, kept however deep in an action the engine is waiting.
   */
  setDeadline(at: number, why: () => string): void {
    this.deadline = { at, why };
  }

  /**
   * A picture that stays the same, byte for byte, longer than `ms` fails look() with category infrastructure: a
   * live screen during setup is never that still (busy pages and the ESP animate, pages wait for the agent only
   * seconds), a hung grabber or streamer is. A dark screen (off, restarting) may stay.
   */
  setFrozenLimit(ms: number): void {
    this.frozenLimitMs = ms;
  }

  /** The next frame after the last one observed, read (or reused when it is the same picture). */
  async look(): Promise<Observation> {
    if (this.deadline && Date.now() > this.deadline.at) throw new RunFailure('flow', this.deadline.why());
    let frame: Frame;
    try {
      frame = this.last
        ? await this.capture.next(this.last.frame.seq, this.frameTimeoutMs)
        : await this.capture.latest(this.frameTimeoutMs);
    } catch (err) {
      throw new RunFailure('infrastructure', `no frame from ${this.capture.description}: ${(err as Error).message}`);
    }
    const hash = sha1(frame.data);
    this.seqBefore = this.last?.frame.seq ?? 0;
    if (this.last && this.last.hash === hash) {
      this.last = { ...this.last, frame, changed: false };
      const stillMs = frame.at - this.sameSince;
      if (stillMs > this.frozenLimitMs && this.last.rec.screen !== 'no-signal') {
        throw new RunFailure('infrastructure', `no frame from ${this.capture.description}: the capture is frozen: the same frame, byte for byte, `
          + `for ${Math.round(stillMs / 1000)} s (showing ${this.last.rec.screen}), longer than the ${Math.round(this.frozenLimitMs / 1000)} s a live `
          + 'picture stays still (timeouts.frozen, --frozen-timeout); the grabber or its streamer hangs: replug it or restart the streamer');
      }
      return this.last;
    }
    this.sameSince = frame.at;
    let rec: Recognition;
    try {
      rec = await this.reader.read(frame.data);
    } catch (err) {
      throw new RunFailure('infrastructure', `OCR failed on frame ${frame.seq}: ${(err as Error).message}`);
    }
    this.last = { frame, hash, rec, changed: true };
    return this.last;
  }

  /**
   * The last picture of `screen` among the frames skipped while the current one's predecessor was read, when the
   * device has left `screen` meanwhile: a state it showed only while the agent was busy (the ESP's end, shown a
   * second or two before the result page). Frames with the current frame's bytes are the current screen, so the
   * newest of the others is most often the one (a digital grabber repeats a still page byte for byte): it is read
   * first. Otherwise the screen changed once in between, and the last frame showing it is found by halving; at
   * most `maxReads` reads in all. Null when no kept frame shows it.
   */
  async lastSkipped(screen: ScreenId, maxReads = 6): Promise<Observation | null> {
    const current = this.last;
    if (!current || current.rec.screen === screen) return null;
    const frames = this.capture.recent()
      .filter((f) => f.seq > this.seqBefore && f.seq < current.frame.seq)
      .map((frame) => ({ frame, hash: sha1(frame.data) }))
      .filter((f) => f.hash !== current.hash);
    const shows = async (i: number): Promise<Observation | null> => {
      const { frame, hash } = frames[i];
      let rec: Recognition;
      try {
        rec = await this.reader.read(frame.data, { aside: true });
      } catch (err) {
        throw new RunFailure('infrastructure', `OCR failed on frame ${frame.seq}: ${(err as Error).message}`);
      }
      return rec.screen === screen ? { frame, hash, rec, changed: true } : null;
    };
    if (frames.length === 0 || maxReads < 1) return null;
    let found = await shows(frames.length - 1);
    if (found) return found;
    let lo = 0;
    let hi = frames.length - 2;
    for (let reads = 1; lo <= hi && reads < maxReads; reads++) {
      const mid = (lo + hi + 1) >> 1;
      const seen = await shows(mid);
      if (seen) {
        found = seen;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * The same observation with every line of the page read (boxes in frame pixels), for finding what to click.
   * Costs a whole-page OCR the first time for a frame; the reader caches it.
   */
  async withAllText(obs: Observation): Promise<Observation> {
    let rec: Recognition;
    try {
      rec = await this.reader.read(obs.frame.data, { allText: true });
    } catch (err) {
      throw new RunFailure('infrastructure', `OCR failed on frame ${obs.frame.seq}: ${(err as Error).message}`);
    }
    // Keep the fast classification: only the lines (and their boxes) come from the whole-page read.
    const full = { ...obs, rec: { ...obs.rec, lines: rec.lines } };
    if (this.last && this.last.hash === obs.hash) this.last = { ...this.last, rec: full.rec };
    return full;
  }

  /**
   * Waits until the picture differs from `before` (the frame an action was taken on), so the engine never
   * acts twice on the old screen. Returns null when nothing changed in time.
   */
  async waitForChange(before: Observation, timeoutMs: number): Promise<Observation | null> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const obs = await this.look();
      if (obs.hash !== before.hash) return obs;
    }
    return null;
  }

  /**
   * Waits until the device shows another screen than `before` did (a transient one counts), for actions
   * that must leave the page: a frame that changed on the same page (focus, a pressed button) is not yet
   * their effect. Returns null when the screen stayed for `timeoutMs`.
   */
  async waitForOtherScreen(before: Observation, timeoutMs: number): Promise<Observation | null> {
    const deadline = Date.now() + timeoutMs;
    let obs = this.last && this.last.hash !== before.hash ? this.last : null;
    while (Date.now() < deadline) {
      if (obs && obs.rec.screen !== before.rec.screen) return obs;
      obs = await this.look();
    }
    return obs && obs.rec.screen !== before.rec.screen ? obs : null;
  }
}

const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');
