// The self-test before a station's run: the board answers (and the device reads its keyboard, when the
// station says it should), frames arrive and are live, and OCR reads the known frame. A station that fails
// it is not run: it is marked bad with the reason until a self-test passes again.
import { checkBoard } from '../checks/board.ts';
import { checkFrames, pointerStir } from '../checks/capture.ts';
import { checkOcr } from '../checks/ocr.ts';
import type { CheckResult } from '../checks/types.ts';
import { DEFAULT_SELF_TEST_S, type OpenedStation } from './station.ts';

export interface SelfTestResult {
  ok: boolean;
  checks: CheckResult[];
  ms: number;
}

/** The OCR check, once per bench: every station shares the process's OCR pool, so one reading tells for all. */
export function sharedOcrCheck(): () => Promise<CheckResult> {
  let once: Promise<CheckResult> | null = null;
  return () => (once ??= checkOcr());
}

export async function selfTest(station: OpenedStation, ocr: () => Promise<CheckResult>): Promise<SelfTestResult> {
  const t0 = Date.now();
  const cfg = station.config;
  const timeoutMs = (cfg.timeouts?.selfTest ?? DEFAULT_SELF_TEST_S) * 1000;
  const expectOn = cfg.selfTest.keyboardOnline;
  const checks: CheckResult[] = [...station.failed];
  const { hid, capture } = station;
  const [board, frames, reading] = await Promise.all([
    hid ? checkBoard(hid, { expectKeyboardOnline: expectOn }) : null,
    // A device that may be off or booting shows black frames: only a device that should be on must show a picture.
    // A loaded host (many stations starting at once) may deliver frames slowly: they get the whole check's time.
    capture ? checkFrames(capture, { timeoutMs, frozenMs: timeoutMs, expectPicture: expectOn, ...(expectOn && hid ? { stir: pointerStir(hid) } : {}) }) : null,
    ocr(),
  ]);
  for (const c of [board, frames, reading]) if (c) checks.push(c);
  return { ok: checks.every((c) => c.ok), checks, ms: Date.now() - t0 };
}

/** The failed checks in one line: what the health file and the summary say. */
export function failureReason(checks: CheckResult[]): string {
  return checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}${c.fix ? ` (${c.fix})` : ''}`).join('; ');
}
