// Whether a frame needs reading at all. A frame with the same bytes as the last one costs a comparison; one
// whose thumbnail is nearly the same as that of the last frame read (a grabber re-encoding a still screen,
// sensor noise) costs a thumbnail decode. Also tracks how long the bytes have stayed exactly the same: a
// grabber that hangs keeps sending its last frame, byte for byte.
import type { Thumbnail } from './raster.ts';

/** A thumbnail pixel whose brightness moved by more than this (0..255) is a real change, not noise. */
export const NEAR_PIXEL_DELTA = 32;
/** ... and the mean change over the whole thumbnail must stay under this. */
export const NEAR_MEAN_DELTA = 2.5;

export class FrameGate {
  private lastBytes: Buffer | null = null;
  private sameSince = 0;
  private readThumb: Thumbnail | null = null;

  /** Notes a frame's arrival; true when its bytes equal the last frame's. */
  sameBytes(image: Buffer, at: number): boolean {
    const same = this.lastBytes !== null && this.lastBytes.length === image.length && this.lastBytes.equals(image);
    if (!same) {
      this.lastBytes = image;
      this.sameSince = at;
    }
    return same;
  }

  /** How long (ms) the bytes have been exactly the same, as of `at`; 0 on a frame that just changed. */
  frozenMs(at: number): number {
    return Math.max(0, at - this.sameSince);
  }

  /** True when the thumbnail is nearly that of the last frame read. */
  nearlyRead(thumb: Thumbnail): boolean {
    return this.readThumb !== null && nearlyEqual(this.readThumb, thumb);
  }

  /** The frame of this thumbnail was read: later frames are compared with it. */
  markRead(thumb: Thumbnail): void {
    this.readThumb = thumb;
  }

  reset(): void {
    this.lastBytes = null;
    this.readThumb = null;
  }
}

/**
 * Same size, no pixel far off in brightness, and little change on average. Brightness only: JPEG keeps it
 * at full resolution, while its halved colour resolution moves colour along every coloured edge.
 */
export function nearlyEqual(a: Thumbnail, b: Thumbnail): boolean {
  if (a.width !== b.width || a.height !== b.height || a.frameWidth !== b.frameWidth || a.frameHeight !== b.frameHeight) return false;
  const n = a.data.length;
  let sum = 0;
  for (let i = 0; i < n; i += 3) {
    const d = Math.abs((a.data[i] * 54 + a.data[i + 1] * 183 + a.data[i + 2] * 19 - (b.data[i] * 54 + b.data[i + 1] * 183 + b.data[i + 2] * 19)) >> 8);
    if (d > NEAR_PIXEL_DELTA) return false;
    sum += d;
  }
  return sum / (n / 3) <= NEAR_MEAN_DELTA;
}
