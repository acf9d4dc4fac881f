// The narrow interfaces the engine drives: a keyboard and an absolute pointer. One file per implementation.

export interface BoardStatus {
  /** The device under test reads the board's keyboard (false while it is off or rebooting). */
  keyboardOnline: boolean;
  capsLock: boolean;
  numLock: boolean;
  scrollLock: boolean;
  /** The board asked for a reset (outputs changed). */
  resetRequired: boolean;
}

export interface Keyboard {
  /** Presses the keys of a chord in order and releases them in reverse, e.g. ['ControlLeft','ShiftLeft','KeyD']. */
  tap(chord: string | string[]): Promise<void>;
  down(key: string): Promise<void>;
  up(key: string): Promise<void>;
  /** Types text with the US layout; refuses text with characters it cannot type before sending anything. */
  type(text: string): Promise<void>;
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
  /** Called with the new status whenever a PING shows a change (e.g. the keyboard went offline). */
  onStatus(listener: (status: BoardStatus) => void): void;
  close(): Promise<void>;
}
