// `autopilot-hil calibrate --station NAME (--bench FILE | --hid SPEC --capture SPEC)`: measures a station
// through its own board and grabber and writes calibration/NAME.json: where the device's picture sits in
// the frame, how long a key takes to show (a harmless key there and back on a setup list), and where the
// pointer lands for where it is sent. A measurement the screen does not allow is skipped, saying why.
// Exit codes: 0 written; 2 a part cannot be reached or shows no picture; 64 bad usage.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openCaptureSpec } from '../drivers/capture/open.ts';
import type { FrameSource } from '../drivers/capture/types.ts';
import { checkHidSpec, openHidDevice } from '../drivers/hid/open.ts';
import type { HidDevice } from '../drivers/hid/types.ts';
import { loadBench } from './bench/bench-file.ts';
import { measureActiveArea, measureKeyLatency, measurePointer, overscanOf } from './calibration/measure.ts';
import { CALIBRATION_VERSION, formatCalibration, type Calibration } from './calibration/profile.ts';
import { EXIT, UsageError } from './engine/errors.ts';
import { Recognizer } from './vision/recognizer.ts';

export interface CalibrateCommandOptions {
  station?: string;
  bench?: string;
  hid?: string;
  capture?: string;
  out?: string;
  rounds?: string;
  /** Seconds a key or a pointer move may take to show (default 10). */
  timeout?: string;
}

export interface CalibrateIo { out(line: string): void; err(line: string): void }
const STD_IO: CalibrateIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`autopilot-hil calibrate: ${line}\n`),
};

const STATION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A spec as it may be written down: no user:password@ of a URL. */
const withoutCredentials = (spec: string) => spec.replace(/\/\/[^/@\s]*@/, '//');

function count(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${option} '${value}': expected a number above 0`);
  return n;
}

/** Which board, which video source, and where the profile goes. */
function stationParts(o: CalibrateCommandOptions): { station: string; hid: string; capture: string; outDir: string } {
  if (!o.station) throw new UsageError('--station NAME is needed: the station to calibrate (from --bench), or the name of the profile to write');
  if (!STATION_NAME.test(o.station)) throw new UsageError(`--station '${o.station}': a name of letters, digits, dots, dashes or underscores (it names calibration/${o.station}.json)`);
  if (o.bench) {
    if (o.hid || o.capture) throw new UsageError('give either --bench (the station\'s parts come from it) or --hid and --capture, not both');
    const bench = loadBench(o.bench);
    const s = bench.stations.find((st) => st.name === o.station);
    if (!s) throw new UsageError(`--station: no station "${o.station}" in ${bench.file} (stations: ${bench.stations.map((st) => st.name).join(', ')})`);
    if (s.virtual || !s.hid || !s.capture) {
      throw new UsageError(`${bench.file}:${s.line}: station ${s.name} is the virtual device: nothing to calibrate (to try calibrate, start \`autopilot-hil sim --cursor --border 0.05\` and give its --hid and --capture)`);
    }
    return { station: s.name, hid: s.hid, capture: s.capture, outDir: resolve(o.out ?? join(bench.dir, 'calibration')) };
  }
  if (!o.hid || !o.capture) throw new UsageError('--hid and --capture go together (or give --bench FILE): the station\'s keyboard board and its video source');
  return { station: o.station, hid: o.hid, capture: o.capture, outDir: resolve(o.out ?? 'calibration') };
}

export async function calibrateCommand(o: CalibrateCommandOptions, io: CalibrateIo = STD_IO): Promise<number> {
  const parts = stationParts(o);
  try {
    checkHidSpec(parts.hid);
  } catch (err) {
    throw new UsageError(`hid: ${(err as Error).message}`);
  }
  const rounds = Math.round(count(o.rounds, '--rounds', 3));
  const timeoutMs = count(o.timeout, '--timeout', 10) * 1000;

  let hid: HidDevice | null = null;
  let capture: FrameSource | null = null;
  let recognizer: Recognizer | null = null;
  try {
    const opened = await Promise.allSettled([openHidDevice(parts.hid), openCaptureSpec(parts.capture), Recognizer.create()]);
    const what = [`the keyboard board (${parts.hid})`, `the video source (${withoutCredentials(parts.capture)})`, 'OCR'];
    hid = opened[0].status === 'fulfilled' ? opened[0].value : null;
    capture = opened[1].status === 'fulfilled' ? opened[1].value : null;
    recognizer = opened[2].status === 'fulfilled' ? opened[2].value : null;
    const failed = opened.map((p, i) => (p.status === 'rejected' ? `cannot reach ${what[i]}: ${(p.reason as Error).message}` : null)).filter(Boolean);
    if (opened.some((p) => p.status === 'rejected' && p.reason instanceof UsageError)) {
      throw (opened.find((p) => p.status === 'rejected' && p.reason instanceof UsageError) as PromiseRejectedResult).reason;
    }
    if (failed.length || !hid || !capture || !recognizer) {
      failed.forEach((f) => io.err(f!));
      return EXIT.infrastructure;
    }

    const first = await capture.latest(timeoutMs);
    const seen = await recognizer.read(first.data);
    if (seen.screen === 'no-signal') {
      io.err('the grabber shows no picture (black or uniform): power the device on, bring it to the first setup screen (region), and calibrate again');
      return EXIT.infrastructure;
    }
    const geometry = await measureActiveArea(first.data);
    const a = geometry.activeArea, f = geometry.frame;
    io.out(`active picture: x ${a.x0}..${a.x1}, y ${a.y0}..${a.y1} of the ${f.width}x${f.height} frame`
      + (a.x0 || a.y0 || a.x1 < f.width || a.y1 < f.height ? ` (bars: top ${a.y0}, bottom ${f.height - a.y1}, left ${a.x0}, right ${f.width - a.x1} px)` : ' (no bars)'));

    const skipped: NonNullable<Calibration['skipped']> = {};
    const board = await hid.status();
    let keyLatencyMs: Calibration['keyLatencyMs'] = null;
    let pointer: Calibration['pointer'] = null;
    let overscan: Calibration['overscan'];
    if (!board.keyboardOnline) {
      skipped.keyLatency = skipped.pointer = "the board says the device does not read its keyboard and mouse (keyboard offline): is the device on and the board's USB plugged into it?";
      io.out(`key latency and pointer: skipped: ${skipped.keyLatency}`);
    } else {
      const keys = await measureKeyLatency(hid, capture, recognizer, { rounds, timeoutMs });
      if ('skipped' in keys) {
        skipped.keyLatency = keys.skipped;
        io.out(`key latency: skipped: ${keys.skipped}`);
      } else {
        keyLatencyMs = { p50: keys.p50, p95: keys.p95, samples: keys.samples };
        io.out(`key latency: p50 ${keys.p50} ms, p95 ${keys.p95} ms (${keys.samples} presses on ${seen.screen}: ${keys.all.join(', ')} ms)`);
      }
      const aim = await measurePointer(hid, capture, { timeoutMs });
      if ('skipped' in aim) {
        skipped.pointer = aim.skipped;
        io.out(`pointer: skipped: ${aim.skipped}`);
      } else {
        const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;
        pointer = {
          scaleX: round(aim.scaleX), offsetX: round(aim.offsetX), scaleY: round(aim.scaleY), offsetY: round(aim.offsetY),
          errorPx: round(aim.errorPx, 1), rawErrorPx: round(aim.rawErrorPx, 1), points: aim.points,
        };
        overscan = overscanOf(aim, a, f);
        io.out(`pointer: shows at ${pointer.scaleX}·x + ${pointer.offsetX} across, ${pointer.scaleY}·y + ${pointer.offsetY} down (fractions of the frame); `
          + `misses by at most ${pointer.errorPx} px with this correction, ${pointer.rawErrorPx} px without (${aim.points} points)`
          + (overscan.x || overscan.y ? `; overscan cuts ${(overscan.x * 100).toFixed(1)}% left and right, ${(overscan.y * 100).toFixed(1)}% top and bottom` : ''));
      }
    }

    const cal: Calibration = {
      version: CALIBRATION_VERSION,
      station: parts.station,
      measuredAt: new Date().toISOString(),
      frame: f,
      activeArea: a,
      keyLatencyMs,
      pointer,
      ...(overscan ? { overscan } : {}),
      ...(Object.keys(skipped).length ? { skipped } : {}),
      source: { hid: withoutCredentials(parts.hid), capture: withoutCredentials(parts.capture) },
    };
    mkdirSync(parts.outDir, { recursive: true });
    const file = join(parts.outDir, `${parts.station}.json`);
    writeFileSync(file, formatCalibration(cal));
    io.out(`wrote ${file}`);
    return EXIT.passed;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    io.err((err as Error).message);
    return EXIT.infrastructure;
  } finally {
    await Promise.allSettled([hid?.close(), capture?.close(), recognizer?.close()]);
  }
}
