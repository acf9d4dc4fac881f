# The board's side of the serial HID protocol (shared/reference/serial-hid-protocol.md), free of hardware:
# the same core as the Arduino firmware's hid_protocol.cpp, in Python that runs under CircuitPython on
# the Pico and under CPython in the tests. No imports: code.py gives it a hardware object and a clock.
#
# The hardware object has: usb_online() -> bool, keyboard_leds() -> int (USB LED bits),
# send_keyboard_report(bytes8) -> bool, send_pointer_report(bytes6) -> bool, wake_host(),
# set_power_button(bool), write_response(bytes8).

FIRMWARE_VERSION = (1, 0, 0)

REQUEST_MAGIC = 0x33
RESPONSE_MAGIC = 0x34
FRAME_LENGTH = 8

PING = 0x01
REPEAT = 0x02
SET_KEYBOARD = 0x03
SET_MOUSE = 0x04
SET_CONNECTED = 0x05
CLEAR_HID = 0x10
KEY = 0x11
MOUSE_MOVE = 0x12
MOUSE_BUTTON = 0x13
MOUSE_WHEEL = 0x14
MOUSE_RELATIVE = 0x15
# The project's extensions (codes from 0x20 up are free); see firmware/README.md.
POWER_BUTTON = 0x20
FIRMWARE_VERSION_COMMAND = 0x21

NONE = 0x24
CRC_ERROR = 0x40
INVALID_ERROR = 0x45
TIMEOUT_ERROR = 0x48
PONG = 0x80

FLAG_CAPS_LOCK = 0x01
FLAG_SCROLL_LOCK = 0x02
FLAG_NUM_LOCK = 0x04
FLAG_KEYBOARD_OFFLINE = 0x08
FLAG_MOUSE_OFFLINE = 0x10

# Bits of the keyboard's USB output report (the PC's lock LEDs).
USB_LED_NUM_LOCK = 0x01
USB_LED_CAPS_LOCK = 0x02
USB_LED_SCROLL_LOCK = 0x04

OUTPUT_KEYBOARD_USB = 0x01
OUTPUT_MOUSE_USB_ABSOLUTE = 0x08
OUTPUTS1 = OUTPUT_KEYBOARD_USB | OUTPUT_MOUSE_USB_ABSOLUTE
OUTPUTS2 = 0x01

POWER_RELEASE = 0
POWER_PRESS = 1
POWER_SHORT_PRESS = 2
POWER_LONG_PRESS = 3

BOARD_HOST_TEST = 0
BOARD_ARDUINO_ATMEGA32U4 = 1
BOARD_PICO_CIRCUITPYTHON = 2

# CircuitPython's supervisor.ticks_ms() wraps at 2**29; differences are taken modulo that.
TICKS_PERIOD = 1 << 29

# keymap.tsv: index = the key byte of KEY, value = USB usage on page 0x07 (modifiers as 0xE0 + bit).
# test_hid_protocol.py checks this table against drivers/hid/keymap.tsv.
KEY_USAGES = bytes((
    0x00, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12,
    0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22,
    0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x33,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43,
    0x44, 0x45, 0x46, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0xe0, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0x48, 0x47, 0x53, 0x65, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a,
    0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x66, 0x64, 0x89, 0x87, 0x88, 0x8a, 0x8b,
    0x7f, 0x80, 0x81, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e,
))

KEY_SLOTS = 6


def crc16(data, length=None):
    """MODBUS CRC-16 (init 0xFFFF, reflected poly 0xA001); the protocol sends it high byte first."""
    if length is None:
        length = len(data)
    crc = 0xFFFF
    for i in range(length):
        crc ^= data[i]
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def usb_usage_of_key(mcu):
    """The USB usage of a KEY command's key byte; 0 for a byte with no key."""
    return KEY_USAGES[mcu] if 0 <= mcu < len(KEY_USAGES) else 0


def ticks_diff(later, earlier):
    return (later - earlier) % TICKS_PERIOD


class CoreConfig:
    def __init__(self, board_kind=BOARD_HOST_TEST, frame_timeout_ms=100, short_press_ms=300, long_press_ms=5000):
        self.board_kind = board_kind
        self.frame_timeout_ms = frame_timeout_ms
        self.short_press_ms = short_press_ms
        self.long_press_ms = long_press_ms


class ProtocolCore:
    """Feed it the host's bytes with receive(byte, now_ms) and call poll(now_ms) often."""

    def __init__(self, hardware, config=None):
        self.hw = hardware
        self.config = config or CoreConfig()
        self._frame = bytearray()
        self._frame_start = 0
        self._last = None
        self.keyboard = bytearray(8)
        # buttons, x (LE, 0..32767), y, wheel; the pointer starts in the middle of the screen.
        self.pointer = bytearray((0, 0x00, 0x40, 0x00, 0x40, 0))
        self._keyboard_pending = False
        self._pointer_pending = False
        self._was_online = False
        self.power_pressed = False
        self._power_timed = False
        self._power_start = 0
        self._power_duration = 0

    # --- the line ------------------------------------------------------------------------------------

    def receive(self, byte, now_ms):
        self._expire_partial_frame(now_ms)
        if not self._frame:
            self._frame_start = now_ms
        self._frame.append(byte)
        if len(self._frame) == FRAME_LENGTH:
            frame = bytes(self._frame)
            self._frame = bytearray()
            self._handle_frame(frame, now_ms)

    def poll(self, now_ms):
        """Drops a late partial request, ends a timed power press, re-sends the state when the PC is back."""
        self._expire_partial_frame(now_ms)
        if self._power_timed and ticks_diff(now_ms, self._power_start) >= self._power_duration:
            self._set_power(False)
        self._track_online()
        self._flush_reports()

    def _expire_partial_frame(self, now_ms):
        if self._frame and ticks_diff(now_ms, self._frame_start) > self.config.frame_timeout_ms:
            self._frame = bytearray()
            self._respond(TIMEOUT_ERROR)

    def _handle_frame(self, frame, now_ms):
        crc = crc16(frame, 6)
        if frame[6] != crc >> 8 or frame[7] != crc & 0xFF:
            return self._respond(CRC_ERROR)
        if frame[0] != REQUEST_MAGIC:
            return self._respond(INVALID_ERROR)
        if frame[1] == REPEAT:
            # The last response again without running anything; NONE when there is none (just started).
            if self._last is not None:
                self.hw.write_response(self._last)
                return None
            return self._respond(NONE, remember=False)
        self._track_online()
        return self._run(frame[1], frame[2:6], now_ms)

    def _run(self, code, payload, now_ms):
        if code == PING:
            return self._pong()
        if code == SET_KEYBOARD:
            # A fixed board: asking for the output it has is fine, any other is refused.
            return self._pong() if payload[0] == OUTPUT_KEYBOARD_USB else self._respond(INVALID_ERROR)
        if code == SET_MOUSE:
            return self._pong() if payload[0] == OUTPUT_MOUSE_USB_ABSOLUTE else self._respond(INVALID_ERROR)
        if code == SET_CONNECTED:
            return self._pong() if payload[0] == 1 else self._respond(INVALID_ERROR)
        if code == CLEAR_HID:
            self._release_all()
            return self._pong()
        if code == KEY:
            self._key(payload[0], payload[1] != 0)
            return self._pong()
        if code == MOUSE_MOVE:
            self._move_to(payload)
            return self._pong()
        if code == MOUSE_BUTTON:
            self._buttons(payload[0], payload[1])
            return self._pong()
        if code == MOUSE_WHEEL:
            dy = payload[1] - 256 if payload[1] & 0x80 else payload[1]
            self._wheel(dy)
            return self._pong()
        if code == POWER_BUTTON:
            if not self._power(payload[0], now_ms):
                return self._respond(INVALID_ERROR)
            return self._pong(1 if self.power_pressed else 0)
        if code == FIRMWARE_VERSION_COMMAND:
            major, minor, patch = FIRMWARE_VERSION
            return self._respond(self._pong_code(), major, minor, patch, self.config.board_kind)
        # MOUSE_RELATIVE (the pointer is absolute only) and every command this board does not know.
        return self._respond(INVALID_ERROR)

    def _respond(self, code, b2=0, b3=0, b4=0, b5=0, remember=True):
        out = bytearray((RESPONSE_MAGIC, code, b2, b3, b4, b5, 0, 0))
        crc = crc16(out, 6)
        out[6] = crc >> 8
        out[7] = crc & 0xFF
        out = bytes(out)
        if remember:
            self._last = out
        self.hw.write_response(out)

    def _pong(self, b4=0):
        self._respond(self._pong_code(), OUTPUTS1, OUTPUTS2, b4)

    def _pong_code(self):
        code = PONG
        if self._was_online:
            leds = self.hw.keyboard_leds()
            if leds & USB_LED_CAPS_LOCK:
                code |= FLAG_CAPS_LOCK
            if leds & USB_LED_SCROLL_LOCK:
                code |= FLAG_SCROLL_LOCK
            if leds & USB_LED_NUM_LOCK:
                code |= FLAG_NUM_LOCK
        else:
            code |= FLAG_KEYBOARD_OFFLINE | FLAG_MOUSE_OFFLINE
        return code

    # --- keyboard and pointer state -----------------------------------------------------------------

    def _key(self, mcu, down):
        usage = usb_usage_of_key(mcu)
        if usage == 0:
            return  # a key byte with no key: ignored, as PiKVM's boards do
        before = bytes(self.keyboard)
        if 0xE0 <= usage <= 0xE7:
            bit = 1 << (usage - 0xE0)
            self.keyboard[0] = (self.keyboard[0] | bit) if down else (self.keyboard[0] & ~bit & 0xFF)
        else:
            held = [u for u in self.keyboard[2:] if u != 0]
            if not down:
                # A released key closes its gap, so the held keys stay in the order they went down.
                held = [u for u in held if u != usage]
            elif usage not in held and len(held) < KEY_SLOTS:
                held.append(usage)  # a seventh key at once is dropped: the six held keys stay as they are
            self.keyboard[2:] = bytes(held + [0] * (KEY_SLOTS - len(held)))
        if bytes(self.keyboard) == before:
            return
        self._keyboard_pending = True
        if not self._was_online and down:
            self.hw.wake_host()
        self._flush_reports()

    def _release_all(self):
        # Sent even when nothing is held, so a PC that missed a report sees every key up.
        self.keyboard[:] = bytes(8)
        self.pointer[0] = 0
        self.pointer[5] = 0
        self._keyboard_pending = True
        self._pointer_pending = True
        self._flush_reports()

    def _move_to(self, payload):
        # -32768..32767 on the line, 0..32767 in the USB report (the descriptor's logical range).
        x = (((payload[0] << 8) | payload[1]) ^ 0x8000) >> 1
        y = (((payload[2] << 8) | payload[3]) ^ 0x8000) >> 1
        position = bytes((x & 0xFF, x >> 8, y & 0xFF, y >> 8))
        if bytes(self.pointer[1:5]) == position:
            return
        self.pointer[1:5] = position
        self._pointer_pending = True
        self._flush_reports()

    def _buttons(self, main, extra):
        # select bit: which button the request is about; state bit: down or up. USB bits: left, right,
        # middle, back, forward.
        before = self.pointer[0]
        buttons = before
        for index, (select, state) in enumerate(((0x80, 0x08), (0x40, 0x04), (0x20, 0x02))):
            if main & select:
                buttons = (buttons | (1 << index)) if main & state else (buttons & ~(1 << index))
        for index, (select, state) in enumerate(((0x80, 0x08), (0x40, 0x04))):
            if extra & select:
                bit = 1 << (3 + index)
                buttons = (buttons | bit) if extra & state else (buttons & ~bit)
        buttons &= 0xFF
        if buttons == before:
            return
        self.pointer[0] = buttons
        self._pointer_pending = True
        self._flush_reports()

    def _wheel(self, dy):
        # The wheel is a movement, not a state: it goes out in one report and is not sent again.
        if dy == 0 or not self._was_online:
            return
        self.pointer[5] = dy & 0xFF
        self._pointer_pending = True
        self._flush_reports()
        self.pointer[5] = 0

    # --- power button -------------------------------------------------------------------------------

    def _power(self, action, now_ms):
        if action == POWER_RELEASE:
            self._set_power(False)
        elif action == POWER_PRESS:
            self._set_power(True)
            self._power_timed = False
        elif action in (POWER_SHORT_PRESS, POWER_LONG_PRESS):
            self._set_power(True)
            self._power_timed = True
            self._power_start = now_ms
            self._power_duration = (
                self.config.short_press_ms if action == POWER_SHORT_PRESS else self.config.long_press_ms
            )
        else:
            return False
        return True

    def _set_power(self, pressed):
        if not pressed:
            self._power_timed = False
        if pressed == self.power_pressed:
            return
        self.power_pressed = pressed
        self.hw.set_power_button(pressed)

    # --- USB state ----------------------------------------------------------------------------------

    def _track_online(self):
        online = bool(self.hw.usb_online())
        # The PC came back (booted, woke up, re-enumerated): it knows nothing of what is held; tell it.
        if online and not self._was_online:
            self._keyboard_pending = True
            self._pointer_pending = True
        self._was_online = online

    def _flush_reports(self):
        if not self._was_online:
            return
        if self._keyboard_pending and self.hw.send_keyboard_report(bytes(self.keyboard)):
            self._keyboard_pending = False
        if self._pointer_pending and self.hw.send_pointer_report(bytes(self.pointer)):
            self._pointer_pending = False
