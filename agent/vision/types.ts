// What the recognizer reads from a frame. Screen ids are those of reference/screens.md.

export type ScreenId =
  | 'no-signal' | 'oobe-busy' | 'oobe-region' | 'oobe-keyboard' | 'oobe-keyboard-second' | 'oobe-network'
  | 'oobe-eula' | 'entra-signin' | 'provisioning-options' | 'provisioning-config' | 'esp'
  | 'provisioning-success' | 'provisioning-failure' | 'oobe-consumer-setup' | 'msa-signin' | 'oobe-device-name'
  | 'oobe-privacy' | 'windows-login' | 'unknown';

export type OsId = 'win10' | 'win11';

/** A box in frame pixels. */
export interface Box { x0: number; y0: number; x1: number; y1: number }

export interface TextLine {
  text: string;
  box: Box;
  /** 0..1 */
  confidence: number;
  /** The line's words with their boxes (same pixels as the line), when OCR gave them. */
  words?: { text: string; box: Box; confidence: number }[];
}

export interface QrPayload {
  /** The decoded text, as in the code (prefix included). */
  raw: string;
  ztdId: string | null;
  serialNumber: string | null;
}

export interface EspPhase {
  name: string;
  /** As read: complete | in-progress | waiting | error | not-started | unknown */
  state: string;
  items: { name: string; state: string }[];
}

export interface ScreenFields {
  organization?: string;
  profile?: string;
  user?: string;
  elapsed?: string;
  errorCode?: string;
  message?: string;
  options?: string[];
  selected?: string;
  networks?: string[];
  qr?: QrPayload;
  esp?: { phases: EspPhase[] };
}

export interface Recognition {
  screen: ScreenId;
  os: OsId | null;
  /** 0..1: how well the best screen's anchors matched. */
  confidence: number;
  /**
   * The lines OCR read, in reading order, with boxes in frame pixels. Only the regions needed to tell the
   * screen and read its fields are read (the title first); read(image, { allText: true }) gives every line
   * of the page, for finding something to click.
   */
  lines: TextLine[];
  fields: ScreenFields;
  /** Frame size in pixels. */
  width: number;
  height: number;
  ms: number;
  /** When screen is unknown: the best candidates with their scores. */
  candidates?: { screen: ScreenId; os: OsId | null; score: number }[];
  /** How long (ms) the frame's bytes have been exactly the same: 0 when it just changed. A capture that stays
   * frozen for long (a hung grabber) shows here; a still screen through a live grabber usually does too. */
  frozenMs?: number;
  /** The active picture (the frame without letterbox or pillarbox bars), frame pixels. */
  activeArea?: Box;
  /** Catalog regions that were read for this frame, in order ('page' is the whole picture). */
  regionsRead?: string[];
  /** Every line is of the whole page (read with { allText: true }). */
  allText?: boolean;
}
