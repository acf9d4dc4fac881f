// Frames in: one interface for every capture source (MJPEG over HTTP, ffmpeg, a folder of images).

export interface Frame {
  /** Encoded image (JPEG from grabbers and MJPEG streams, PNG from files). */
  data: Buffer;
  /** When the frame arrived (ms since epoch). */
  at: number;
  /** Counts frames from this source, from 1. */
  seq: number;
}

export interface FrameSource {
  readonly description: string;
  /** The newest frame, waiting for the first one if none has come yet. */
  latest(timeoutMs?: number): Promise<Frame>;
  /** Resolves with the first frame whose seq is greater than `afterSeq`. */
  next(afterSeq: number, timeoutMs?: number): Promise<Frame>;
  /**
   * Frames of the last few seconds, oldest first, the newest last (thinned to a few a second): what a reader
   * busy with one frame skipped, to look back at.
   */
  recent(): readonly Frame[];
  close(): Promise<void>;
}
