// The narrow interfaces the engine drives: a keyboard and an absolute pointer. One file per implementation.

export interface BoardStatus {
  /** The device under test reads the board's keyboard (false while it is off or rebooting). */
  keyboardOnline: boolean;
  capsLock: boolean;
  numLock: boolean;
  scrollLock: boolean;
  /** The board asked for a reset (outputs changed). */
  resetRequired: boolean;
  /**
   * The link to the board: false from the moment it is lost (port vanished, no answer) until it is back and
   * every key was released. Undefined from drivers that do not tell.
   */
  linkUp?: boolean;
}

export interface TypeOptions {
  /** Keyboard layout the device uses (us, uk, de, fr); default the driver's (us unless configured). */
  layout?: string;
  /** The text is a secret (a Wi-Fi key): messages say how many characters and where, never which. */
  secret?: boolean;
}

export interface Keyboard {
  /** Presses the keys of a chord in order and releases them in reverse, e.g. ['ControlLeft','ShiftLeft','KeyD']. */
  tap(chord: string | string[]): Promise<void>;
  down(key: string): Promise<void>;
  up(key: string): Promise<void>;
  /** Types text with a keyboard layout (US by default); refuses text with characters it cannot type before sending anything. */
  type(text: string, options?: TypeOptions): Promise<void>;
  releaseAll(): Promise<void>;
  status(): Promise<BoardStatus>;
}

export interface Pointer {
  /** Absolute position, 0..1 of the screen on each axis. */
  move(x: number, y: number): Promise<void>;
  click(button?: 'left' | 'right' | 'middle'): Promise<void>;
}

export interface HidDevice extends Keyboard, Pointer {
  readonly description: string;
  /**
   * Called with the new status whenever it changes: a PING shows the keyboard went offline or came back, or
   * the link to the board was lost (linkUp false) or is back (linkUp true).
   */
  onStatus(listener: (status: BoardStatus) => void): void;
  close(): Promise<void>;
}
