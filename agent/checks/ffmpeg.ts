// Is ffmpeg there (it reads /dev/video grabbers, dshow and avfoundation devices), and which version.
import { defaultFfmpegPath, ffmpegVersion } from '../../drivers/capture/ffmpeg.ts';
import type { CheckResult } from './types.ts';

export interface FfmpegCheckOptions {
  /** The program to run (default: AUTOPILOT_HIL_FFMPEG, or ffmpeg on the PATH). */
  program?: string;
  /** ffmpeg is needed: a grabber device is attached or named. Otherwise a missing ffmpeg is only a note. */
  needed?: boolean;
}

/** Runs `ffmpeg -version` and reads the version from its first line. */
export async function checkFfmpeg(opts: FfmpegCheckOptions = {}): Promise<CheckResult> {
  const program = opts.program ?? defaultFfmpegPath();
  try {
    const v = await ffmpegVersion(program);
    return { name: 'ffmpeg', ok: true, detail: `${program}: ${v.text.replace(/ Copyright.*$/, '')}` };
  } catch (err) {
    const why = (err as Error).message;
    if (!opts.needed && /not found/.test(why)) {
      return { name: 'ffmpeg', ok: true, detail: `${why.replace(/:.*$/, '')}: needed only for grabbers read as devices (/dev/video*, dshow, avfoundation), not for MJPEG streams over HTTP` };
    }
    return { name: 'ffmpeg', ok: false, detail: why, fix: 'install ffmpeg (Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg), or set AUTOPILOT_HIL_FFMPEG to it' };
  }
}
