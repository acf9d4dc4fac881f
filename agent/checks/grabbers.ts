// HDMI grabbers seen as video devices (/dev/video*), each with the formats it offers and the mode a
// capture would choose.
import { listVideoDevices, probeFormats, type VideoDevice } from '../../drivers/capture/open.ts';
import type { CheckResult } from './types.ts';

export interface GrabberFindings {
  results: CheckResult[];
  /** The picture nodes found (a UVC grabber's metadata node left out). */
  devices: VideoDevice[];
}

export interface GrabberCheckOptions {
  /** Where the device nodes are (tests give another folder). Default /dev. */
  devDir?: string;
}

/** One line per video device with its formats; one line saying so when there is none. */
export async function checkGrabbers(opts: GrabberCheckOptions = {}): Promise<GrabberFindings> {
  // Index 1 and up of a UVC device is its metadata node: no picture there.
  const devices = listVideoDevices(opts.devDir).filter((d) => d.index === null || d.index === 0);
  if (devices.length === 0) {
    const where = process.platform === 'linux' ? 'no /dev/video* device' : 'no video device listed (only Linux is listed; give dshow:/avfoundation: names with --capture)';
    return { results: [{ name: 'grabbers', ok: true, detail: `${where}: no HDMI grabber attached to this host as a video device (MJPEG streams over HTTP are checked with --capture URL)` }], devices };
  }
  const results: CheckResult[] = [];
  for (const dev of devices) {
    const name = `grabber ${dev.path}${dev.name ? ` (${dev.name})` : ''}`;
    const stable = dev.links.find((l) => l.includes('/by-id/'));
    try {
      const probe = await probeFormats(dev.path);
      if (!probe.chosen) {
        results.push({ name, ok: false, detail: `offers ${probe.summary || 'no formats'}; none fits a capture: ${probe.problem}`, fix: 'use a grabber that offers MJPEG or YUYV at 1280x720 or more' });
        continue;
      }
      const c = probe.chosen;
      const chosen = `${c.inputFormat} ${c.width}x${c.height} at ${c.fps} fps (${c.why})`;
      results.push({ name, ok: true, detail: `offers ${probe.summary}; a capture takes ${chosen}${stable ? `; stable name ${stable}` : ''}` });
    } catch (err) {
      results.push({ name, ok: false, detail: `its formats cannot be read: ${(err as Error).message}`, fix: 'is another program using it? is the user in the video group (sudo usermod -aG video $USER)?' });
    }
  }
  return { results, devices };
}
