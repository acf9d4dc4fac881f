import { describe, expect, it } from 'vitest';
import { Command, crc16, decodeMouseMove, encodeRequest, frameCrcOk, keyPayload, mouseMovePayload } from '../drivers/hid/protocol.ts';
import { findKey, keyByMcu } from '../drivers/hid/keymap.ts';

const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

describe('serial HID protocol frames', () => {
  it('matches the test vectors of the reference', () => {
    const meta = findKey('MetaLeft')!;
    expect(hex(encodeRequest(Command.PING))).toBe('33 01 00 00 00 00 18 38');
    expect(hex(encodeRequest(Command.CLEAR_HID))).toBe('33 10 00 00 00 00 1b c4');
    expect(hex(encodeRequest(Command.KEY, keyPayload(meta.mcu, true)))).toBe('33 11 50 01 00 00 1b b9');
    expect(hex(encodeRequest(Command.KEY, keyPayload(meta.mcu, false)))).toBe('33 11 50 00 00 00 db e8');
    expect(hex(encodeRequest(Command.MOUSE_MOVE, [0, 0, 0, 0]))).toBe('33 12 00 00 00 00 db bd');
  });

  it('detects a flipped bit by CRC', () => {
    const frame = encodeRequest(Command.KEY, keyPayload(37, true));
    expect(frameCrcOk(frame)).toBe(true);
    frame[2] ^= 0x04;
    expect(frameCrcOk(frame)).toBe(false);
    expect(crc16(Buffer.from('123456789'))).toBe(0x4b37);
  });

  it('maps pointer positions to the absolute axis and back', () => {
    expect(mouseMovePayload(0, 1)).toEqual([0x80, 0x00, 0x7f, 0xff]);
    const back = decodeMouseMove(mouseMovePayload(0.25, 0.75));
    expect(back.x).toBeCloseTo(0.25, 4);
    expect(back.y).toBeCloseTo(0.75, 4);
  });

  it('knows keys by W3C and DuckyScript names', () => {
    expect(findKey('GUI')!.code).toBe('MetaLeft');
    expect(findKey('a')!.mcu).toBe(1);
    expect(findKey('ENTER')!.mcu).toBe(37);
    expect(keyByMcu(80)!.modifierBit).toBe(0x08);
    expect(findKey('NoSuchKey')).toBeNull();
  });
});
