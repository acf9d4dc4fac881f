// The serial HID protocol of PiKVM's boards (reference/serial-hid-protocol.md): 8-byte CRC-checked
// requests and responses. Pure functions only: both the host driver and the virtual device's board use them.

export const REQUEST_MAGIC = 0x33;
export const RESPONSE_MAGIC = 0x34;
export const FRAME_LENGTH = 8;

export const Command = {
  PING: 0x01,
  REPEAT: 0x02,
  SET_KEYBOARD: 0x03,
  SET_MOUSE: 0x04,
  SET_CONNECTED: 0x05,
  CLEAR_HID: 0x10,
  KEY: 0x11,
  MOUSE_MOVE: 0x12,
  MOUSE_BUTTON: 0x13,
  MOUSE_WHEEL: 0x14,
  MOUSE_RELATIVE: 0x15,
} as const;
export type CommandCode = (typeof Command)[keyof typeof Command];

/** This project's extension commands (firmware/README.md): a board without them answers INVALID_ERROR. */
export const ExtensionCommand = {
  POWER_BUTTON: 0x20,
  FIRMWARE_VERSION: 0x21,
} as const;

/** POWER_BUTTON's payload byte; the timed presses are released by the board itself. */
export const PowerButtonAction = { release: 0, hold: 1, short: 2, long: 3 } as const;
export type PowerButtonMode = keyof typeof PowerButtonAction;

export const ResponseCode = {
  OK_LEGACY: 0x20,
  NONE: 0x24,
  CRC_ERROR: 0x40,
  INVALID_ERROR: 0x45,
  TIMEOUT_ERROR: 0x48,
  PONG: 0x80,
} as const;

/** Flags carried in the low bits of a PONG code. */
export const PongFlag = {
  CAPS_LOCK: 0x01,
  SCROLL_LOCK: 0x02,
  NUM_LOCK: 0x04,
  KEYBOARD_OFFLINE: 0x08,
  MOUSE_OFFLINE: 0x10,
  RESET_REQUIRED: 0x40,
} as const;

/** Bits of MOUSE_BUTTON's first payload byte: a select bit says which button, a state bit whether it is down. */
export const MouseButtonBits = {
  left: { select: 0x80, state: 0x08 },
  right: { select: 0x40, state: 0x04 },
  middle: { select: 0x20, state: 0x02 },
} as const;
export type MouseButton = keyof typeof MouseButtonBits;

/** MODBUS CRC-16 (init 0xFFFF, reflected poly 0xA001); the protocol sends it high byte first. */
export function crc16(bytes: Uint8Array, length = bytes.length): number {
  let crc = 0xffff;
  for (let i = 0; i < length; i++) {
    crc ^= bytes[i];
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >> 1) ^ 0xa001 : crc >> 1;
  }
  return crc;
}

function sealed(frame: Buffer): Buffer {
  const crc = crc16(frame, 6);
  frame[6] = crc >> 8;
  frame[7] = crc & 0xff;
  return frame;
}

export function encodeRequest(command: number, payload: ArrayLike<number> = []): Buffer {
  if (payload.length > 4) throw new Error(`request payload is ${payload.length} bytes, at most 4 fit`);
  const frame = Buffer.alloc(FRAME_LENGTH);
  frame[0] = REQUEST_MAGIC;
  frame[1] = command;
  for (let i = 0; i < payload.length; i++) frame[2 + i] = payload[i] & 0xff;
  return sealed(frame);
}

export function encodeResponse(code: number, outputs1 = 0, outputs2 = 0): Buffer {
  const frame = Buffer.alloc(FRAME_LENGTH);
  frame[0] = RESPONSE_MAGIC;
  frame[1] = code;
  frame[2] = outputs1;
  frame[3] = outputs2;
  return sealed(frame);
}

/** True when an 8-byte frame's CRC matches its first six bytes. */
export function frameCrcOk(frame: Uint8Array): boolean {
  if (frame.length < FRAME_LENGTH) return false;
  const crc = crc16(frame, 6);
  return frame[6] === crc >> 8 && frame[7] === (crc & 0xff);
}

/** The 4-byte response of old firmware: 0x33, code, CRC over the first two bytes (high byte first). */
export function legacyResponseCrcOk(frame: Uint8Array): boolean {
  if (frame.length < 4) return false;
  const crc = crc16(frame, 2);
  return frame[2] === crc >> 8 && frame[3] === (crc & 0xff);
}

export function keyPayload(mcuCode: number, down: boolean): number[] {
  return [mcuCode, down ? 1 : 0];
}

/** Absolute pointer position: 0..1 of the screen mapped onto -32768..32767, big-endian int16 x then y. */
export function mouseMovePayload(x: number, y: number): number[] {
  const toAxis = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 65535 - 32768);
  const ax = toAxis(x) & 0xffff;
  const ay = toAxis(y) & 0xffff;
  return [ax >> 8, ax & 0xff, ay >> 8, ay & 0xff];
}

/** The inverse of mouseMovePayload: 0..1 on each axis. */
export function decodeMouseMove(payload: ArrayLike<number>): { x: number; y: number } {
  const axis = (hi: number, lo: number) => {
    let v = (hi << 8) | lo;
    if (v & 0x8000) v -= 0x10000;
    return (v + 32768) / 65535;
  };
  return { x: axis(payload[0], payload[1]), y: axis(payload[2], payload[3]) };
}

export function mouseButtonPayload(button: MouseButton, down: boolean): number[] {
  const bits = MouseButtonBits[button];
  return [bits.select | (down ? bits.state : 0), 0];
}

export function commandName(code: number): string {
  for (const [name, value] of Object.entries(Command)) if (value === code) return name;
  return `0x${code.toString(16).padStart(2, '0')}`;
}
