// `autopilot-hil doctor [--json] [--hid SPEC …] [--capture SPEC …] [--bench FILE]`: what is attached and what
// works, one line per check: boards on USB (each PINGed, with its flags), grabbers and their formats, ffmpeg,
// the OCR data, and every board and video source named. A board and a video source named together (one
// --hid with one --capture, or a bench station) are checked as a station: the board's pointer tells a
// still screen from a frozen grabber. Exit 0 when every check is ok, 2 when a part is broken, 64 bad usage.
import { parseCaptureSpec } from '../drivers/capture/open.ts';
import type { FrameSource } from '../drivers/capture/types.ts';
import { checkHidSpec } from '../drivers/hid/open.ts';
import type { HidDevice } from '../drivers/hid/types.ts';
import { describePort } from '../drivers/usb/discover.ts';
import { loadBench } from './bench/bench-file.ts';
import { checkBoard, checkBoardSpec, openBoardForCheck } from './checks/board.ts';
import { checkCaptureSpec, checkFrames, openCaptureForCheck, pointerStir } from './checks/capture.ts';
import { checkFfmpeg } from './checks/ffmpeg.ts';
import { checkGrabbers } from './checks/grabbers.ts';
import { checkOcr } from './checks/ocr.ts';
import { boardPortSpec, findUsbBoards } from './checks/usb.ts';
import type { CheckResult } from './checks/types.ts';
import { EXIT, UsageError } from './engine/errors.ts';

/** What doctor checks together: a board and its video source (a bench station, or one --hid with one --capture). */
interface StationParts { name: string; hid?: string; capture?: string; virtual?: string }

export interface DoctorCommandOptions {
  json?: boolean;
  hid?: string[];
  capture?: string[];
  bench?: string;
  /** Seconds to wait for each board's first answer and each source's first frame (default 5). */
  timeout?: string;
}

export interface DoctorIo { out(line: string): void }
const STD_IO: DoctorIo = { out: (line) => process.stdout.write(`${line}\n`) };

/** A capture read through ffmpeg (a grabber device), not over HTTP or from a folder. */
const isDeviceSpec = (spec: string) => {
  try {
    return parseCaptureSpec(spec).kind === 'ffmpeg';
  } catch {
    return false;
  }
};

export async function doctorCommand(o: DoctorCommandOptions, io: DoctorIo = STD_IO): Promise<number> {
  const hids = o.hid ?? [];
  const captures = o.capture ?? [];
  const timeoutMs = o.timeout === undefined ? 5000 : Number(o.timeout) * 1000;
  if (!(timeoutMs > 0)) throw new UsageError(`--timeout must be a number of seconds above 0, got '${o.timeout}'`);
  // A spec that cannot mean anything is bad usage (exit 64); one that names a part that is not there is a check line.
  for (const spec of hids) {
    try {
      checkHidSpec(spec);
    } catch (err) {
      throw new UsageError(`--hid: ${(err as Error).message}`);
    }
  }
  for (const spec of captures) parseCaptureSpec(spec);
  const stations: StationParts[] = o.bench ? loadBench(o.bench).stations.map((s) => ({ name: s.name, hid: s.hid, capture: s.capture, virtual: s.virtual })) : [];
  const paired = !o.bench && hids.length === 1 && captures.length === 1;
  if (paired) stations.push({ name: '', hid: hids[0], capture: captures[0] });

  const results: CheckResult[] = [];
  const report = (r: CheckResult) => {
    results.push(r);
    io.out(o.json ? JSON.stringify(r) : `${r.ok ? '  ok' : 'FAIL'}  ${r.name}: ${r.detail}${r.fix ? ` → ${r.fix}` : ''}`);
  };

  const usb = await findUsbBoards();
  usb.results.forEach(report);
  for (const port of usb.boards) {
    report(await checkBoardSpec(boardPortSpec(port), { name: `board ${describePort(port)}`, openTimeoutMs: timeoutMs }));
  }
  const grabbers = await checkGrabbers();
  grabbers.results.forEach(report);
  const named = [...captures, ...stations.map((s) => s.capture ?? '')];
  report(await checkFfmpeg({ needed: grabbers.devices.length > 0 || named.some(isDeviceSpec) }));
  report(await checkOcr());

  for (const s of stations) {
    for (const r of await checkStation(s, timeoutMs)) report(r);
  }
  if (!paired) {
    for (const spec of hids) report(await checkBoardSpec(spec, { openTimeoutMs: timeoutMs }));
    for (const spec of captures) report(await checkCaptureSpec(spec, { timeoutMs }));
  }
  return results.every((r) => r.ok) ? EXIT.passed : EXIT.infrastructure;
}

/**
 * A board and its video source together: the board answers (with its flags), the picture is live. With the
 * board answering and the device reading it, a still picture is told from a frozen one by a pointer move.
 */
async function checkStation(s: StationParts, timeoutMs: number): Promise<CheckResult[]> {
  const label = s.name ? `station ${s.name} ` : '';
  if (s.virtual) return [{ name: `station ${s.name}`, ok: true, detail: `the virtual device (${s.virtual}): each run starts its own` }];
  const out: CheckResult[] = [];
  let hid: HidDevice | null = null;
  let capture: FrameSource | null = null;
  try {
    let pointerWorks = false;
    if (s.hid) {
      const opened = await openBoardForCheck(s.hid, { name: `${label}board ${s.hid}`, openTimeoutMs: timeoutMs });
      if (opened.hid) {
        hid = opened.hid;
        const r = await checkBoard(hid, { name: `${label}board ${s.hid}` });
        out.push(r);
        pointerWorks = r.ok && (await hid.status().then((st) => st.keyboardOnline, () => false));
      } else {
        out.push(opened.failed);
      }
    }
    if (s.capture) {
      const name = `${label}frames ${s.capture}`;
      const opened = await openCaptureForCheck(s.capture, { name, timeoutMs });
      if (!opened.capture) {
        out.push(opened.failed);
        return out;
      }
      capture = opened.capture;
      out.push(await checkFrames(capture, { name, timeoutMs, ...(pointerWorks && hid ? { stir: pointerStir(hid) } : {}) }));
    }
    return out;
  } finally {
    await Promise.allSettled([hid?.close(), capture?.close()]);
  }
}
