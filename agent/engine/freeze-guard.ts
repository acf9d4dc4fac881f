// A station's capture, watched for a hung grabber: one that keeps sending its last frame, byte for byte.
// A real screen through a live grabber is never that still for long during setup (busy pages and the ESP
// animate, pages wait for the agent only seconds), while a frozen grabber stays so for good. A dark frame
// (no signal: the device off or restarting) is allowed to stay. The limit is the flow's timeouts.frozen
// (a bench station's or --frozen-timeout overrides it).
import type { Frame, FrameSource } from '../../drivers/capture/types.ts';
import type { ScreenReader } from './observer.ts';
import type { Recognition } from '../vision/types.ts';

export class FreezeGuard {
  private lastBytes: Buffer | null = null;
  private sameSince = 0;
  private lastScreen: string | null = null;

  constructor(private readonly limitMs: number) {}

  /** The capture whose latest() and next() fail once the picture has stayed the same for longer than the limit. */
  capture(inner: FrameSource): FrameSource {
    return {
      description: inner.description,
      latest: async (timeoutMs) => this.check(await inner.latest(timeoutMs)),
      next: async (afterSeq, timeoutMs) => this.check(await inner.next(afterSeq, timeoutMs)),
      close: () => inner.close(),
    };
  }

  /** The reader, noting which screen the frames it reads show (so a dark screen may stay). */
  reader(inner: ScreenReader): ScreenReader {
    return {
      read: async (image, opts) => {
        const rec: Recognition = await inner.read(image, opts);
        this.lastScreen = rec.screen;
        return rec;
      },
    };
  }

  /** How long the picture has been byte for byte the same, as of now. */
  get frozenMs(): number {
    return this.lastBytes ? Date.now() - this.sameSince : 0;
  }

  private check(frame: Frame): Frame {
    const same = this.lastBytes !== null && this.lastBytes.length === frame.data.length && this.lastBytes.equals(frame.data);
    if (!same) {
      this.lastBytes = frame.data;
      this.sameSince = frame.at;
      return frame;
    }
    const ms = frame.at - this.sameSince;
    if (ms > this.limitMs && this.lastScreen !== 'no-signal') {
      throw new Error(`the capture is frozen: the same frame, byte for byte, for ${Math.round(ms / 1000)} s${this.lastScreen ? ` (showing ${this.lastScreen})` : ''}, `
        + `longer than the ${Math.round(this.limitMs / 1000)} s a live picture stays still (timeouts.frozen, --frozen-timeout); the grabber or its streamer hangs: replug it or restart the streamer`);
    }
    return frame;
  }
}
