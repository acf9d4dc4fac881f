// Does the grabber deliver a live picture: a frame arrives, it shows something (not a black or uniform
// no-signal frame, when a picture is expected), and it is not frozen. A hung grabber keeps sending its last
// frame byte for byte; so does a live one on a still screen (the virtual device, many HDMI grabbers). When
// the bytes stay the same, `stir` (a harmless pointer move, given by whoever holds the board) tells the two
// apart: a live grabber shows the pointer move, a hung one does not.
import type { Frame, FrameSource } from '../../drivers/capture/types.ts';
import { isNoSignal } from '../vision/classifier.ts';
import { measureStats } from '../vision/preprocess.ts';
import { decodeThumbnail } from '../vision/raster.ts';
import { nearlyEqual } from '../vision/frame-gate.ts';
import { openCaptureSpec } from '../../drivers/capture/open.ts';
import type { CheckResult } from './types.ts';

export interface FramesCheckOptions {
  /** How long to wait for the first frame (default 10 s). */
  timeoutMs?: number;
  /** The bytes must change within this long to count as live (default 3 s). */
  frozenMs?: number;
  /** A picture is expected (the device is on): a black or uniform frame is a failure (default true). */
  expectPicture?: boolean;
  /** A harmless action that changes the picture (move the pointer); used only when the bytes stay the same. */
  stir?: () => Promise<void>;
  /** Name of the check line (default "frames DESCRIPTION"). */
  name?: string;
}

/** The first frame after `after` whose bytes differ from it, or null when none came within `ms`. */
async function changedFrame(capture: FrameSource, after: Frame, ms: number): Promise<{ frame: Frame | null; frames: number }> {
  const deadline = Date.now() + ms;
  let seq = after.seq, frames = 0;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return { frame: null, frames };
    let f: Frame;
    try {
      f = await capture.next(seq, left);
    } catch {
      return { frame: null, frames }; // no new frame in time: the caller tells stalled from frozen by `frames`
    }
    frames++;
    seq = f.seq;
    if (f.data.length !== after.data.length || !f.data.equals(after.data)) return { frame: f, frames };
  }
}

/** A frame arrives, shows a picture, and the picture is live. */
export async function checkFrames(capture: FrameSource, opts: FramesCheckOptions = {}): Promise<CheckResult> {
  const name = opts.name ?? `frames ${capture.description}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const frozenMs = opts.frozenMs ?? 3000;
  let first: Frame;
  try {
    first = await capture.latest(timeoutMs);
  } catch (err) {
    return {
      name, ok: false, detail: `no frame within ${timeoutMs / 1000} s: ${(err as Error).message}`,
      fix: 'check the grabber: its USB cable, the stream URL, that no other program holds the device',
    };
  }
  let size = '';
  try {
    const thumb = await decodeThumbnail(first.data);
    size = `${thumb.frameWidth}x${thumb.frameHeight}`;
    const stats = measureStats(thumb, { x0: 0, y0: 0, x1: thumb.frameWidth, y1: thumb.frameHeight });
    if ((opts.expectPicture ?? true) && isNoSignal(stats)) {
      return {
        name, ok: false, detail: `${size} frames arrive but show no picture (a black or uniform frame, mean brightness ${Math.round(stats.luma)})`,
        fix: 'power the device on and check the HDMI cable from the device to the grabber (and that the device is not asleep)',
      };
    }
  } catch (err) {
    return { name, ok: false, detail: `a frame arrived that is not an image: ${(err as Error).message}`, fix: 'the source does not send JPEG or PNG frames: check the URL or device' };
  }
  const t0 = Date.now();
  const live = await changedFrame(capture, first, frozenMs);
  if (live.frame) {
    const fps = live.frames / Math.max(0.001, (live.frame.at - first.at) / 1000);
    return { name, ok: true, detail: `${size} frames arrive and change (about ${fps.toFixed(1)} frames/s)` };
  }
  if (live.frames === 0) {
    return {
      name, ok: false, detail: `one ${size} frame came, then none for ${((Date.now() - t0) / 1000).toFixed(1)} s: the stream stalled`,
      fix: 'the grabber or streamer stopped sending: replug the grabber or restart the streamer (ustreamer, PiKVM kvmd)',
    };
  }
  if (!opts.stir) {
    return {
      name, ok: true,
      detail: `${size} frames arrive (${live.frames} in ${(frozenMs / 1000).toFixed(1)} s) with the same bytes: a still screen, or a hung grabber (give the station's board too, and the pointer is moved to tell)`,
    };
  }
  try {
    await opts.stir();
  } catch (err) {
    return { name, ok: false, detail: `the frames stayed the same and moving the pointer to check failed: ${(err as Error).message}`, fix: 'check the board first' };
  }
  const after = await changedFrame(capture, first, frozenMs);
  if (after.frame) {
    // The pointer move showed: the grabber is live. (A tiny change would be JPEG noise; report how big it was.)
    const moved = !nearlyEqual(await decodeThumbnail(first.data), await decodeThumbnail(after.frame.data));
    return { name, ok: true, detail: `${size} frames arrive; a still screen that changed when the pointer moved${moved ? '' : ' (slightly)'}` };
  }
  return {
    name, ok: false,
    detail: `${size} frames are frozen: the same bytes for ${((Date.now() - t0) / 1000).toFixed(1)} s, even after the pointer moved`,
    fix: 'the grabber sends its last frame again and again: replug it (or restart the streamer); if the device shows no pointer, check it with a key instead',
  };
}

/**
 * Moves the absolute pointer to a spot near the right edge (where setup pages show nothing to click), a
 * little off where it last was, so the picture changes wherever the device draws a pointer. Clicks nothing.
 */
export function pointerStir(hid: { move(x: number, y: number): Promise<void> }): () => Promise<void> {
  return () => hid.move(0.98, 0.4 + Math.random() * 0.2);
}

export interface CaptureSpecCheckOptions extends FramesCheckOptions {
  /** Opens the source (default: openCaptureSpec, every kind of capture). */
  open?: (spec: string) => Promise<FrameSource>;
}

/** Opens the source a spec names for a check: the source, or the failed check line that says why not. */
export async function openCaptureForCheck(spec: string, opts: CaptureSpecCheckOptions = {}): Promise<{ capture: FrameSource; failed?: undefined } | { capture?: undefined; failed: CheckResult }> {
  const name = opts.name ?? `frames ${spec}`;
  try {
    const capture = await (opts.open ?? ((s: string) => openCaptureSpec(s, { openTimeoutMs: opts.timeoutMs ?? 10_000 })))(spec);
    return { capture };
  } catch (err) {
    return { failed: { name, ok: false, detail: `cannot be opened: ${(err as Error).message}`, fix: fixForCaptureError(err as Error) } };
  }
}

/** Opens the source a spec names (an MJPEG URL, a /dev/video device …), checks its frames and closes it. */
export async function checkCaptureSpec(spec: string, opts: CaptureSpecCheckOptions = {}): Promise<CheckResult> {
  const opened = await openCaptureForCheck(spec, opts);
  if (!opened.capture) return opened.failed;
  try {
    return await checkFrames(opened.capture, { ...opts, name: opts.name ?? `frames ${spec}` });
  } finally {
    await opened.capture.close().catch(() => {});
  }
}

function fixForCaptureError(err: Error): string {
  const m = `${err.message} ${(err as NodeJS.ErrnoException).code ?? ''}`;
  if (/not understood|accepted forms/i.test(m)) return 'give the capture as an MJPEG URL (http://host:8080/stream) or a video device (/dev/video0)';
  if (/ECONNREFUSED|refused/i.test(m)) return 'nothing serves video at that address: start the streamer (ustreamer, PiKVM, the virtual device) or correct the URL';
  if (/404|status/i.test(m)) return 'the server answers but not with a stream at that path: check the URL (ustreamer /stream, PiKVM /streamer/stream)';
  if (/EACCES|permission/i.test(m)) return 'no permission on the video device: add the user to the video group (sudo usermod -aG video $USER)';
  if (/ENOENT|no such/i.test(m)) return 'the device does not exist: is the grabber plugged in? see `ls /dev/video*`';
  return 'check the grabber, its cable and the spec';
}
