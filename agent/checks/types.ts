// One check of a station's part (doctor, the self-test before a run): ok, or what is wrong and what to do.

export interface CheckResult {
  /** What was checked, e.g. "board tcp://127.0.0.1:4001", "ocr data", "ffmpeg". */
  name: string;
  ok: boolean;
  /** What was seen: "answers PING in 2 ms, keyboard online", or what went wrong. */
  detail: string;
  /** When not ok: what a person should do about it. */
  fix?: string;
}
