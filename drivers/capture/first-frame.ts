// Opening a frame source ends at its first frame; a source that gives none is closed again, so a failed open
// leaves no connection, ffmpeg or timer behind.
import type { FrameSource } from './types.ts';

/** Resolves with `source` once `first` (its wait for a first frame) does; otherwise closes it and throws why. */
export async function untilFirstFrame<S extends FrameSource>(source: S, first: Promise<unknown>): Promise<S> {
  try {
    await first;
  } catch (error) {
    await source.close();
    throw error;
  }
  return source;
}
