# The Pico firmware's protocol core under CPython (standard library only):
#   cd firmware/pico && python3 -m unittest -v
# The reference's test vectors, the line's rules (100 ms timeout, CRC_ERROR, REPEAT, NONE after start),
# PONG flags, boot keyboard reports, the pointer, offline handling and the power-button extension.
import os
import unittest

import hid_protocol as hp

HERE = os.path.dirname(os.path.abspath(__file__))
KEYMAP_TSV = os.path.join(HERE, "..", "..", "drivers", "hid", "keymap.tsv")

# Whole request frames from shared/reference/serial-hid-protocol.md.
VECTORS = {
    "PING": "33 01 00 00 00 00 18 38",
    "CLEAR_HID": "33 10 00 00 00 00 1b c4",
    "KEY MetaLeft down": "33 11 50 01 00 00 1b b9",
    "KEY MetaLeft up": "33 11 50 00 00 00 db e8",
    "MOUSE_MOVE 0,0": "33 12 00 00 00 00 db bd",
}


def unhex(text):
    return bytes(int(part, 16) for part in text.split())


def request(command, payload=()):
    frame = bytearray(8)
    frame[0] = hp.REQUEST_MAGIC
    frame[1] = command
    for i, value in enumerate(payload):
        frame[2 + i] = value & 0xFF
    crc = hp.crc16(frame, 6)
    frame[6], frame[7] = crc >> 8, crc & 0xFF
    return bytes(frame)


def response(code, b2=0, b3=0, b4=0, b5=0):
    frame = bytearray((hp.RESPONSE_MAGIC, code, b2, b3, b4, b5, 0, 0))
    crc = hp.crc16(frame, 6)
    frame[6], frame[7] = crc >> 8, crc & 0xFF
    return bytes(frame)


def pong(flags=0, b4=0):
    return response(hp.PONG | flags, hp.OUTPUTS1, hp.OUTPUTS2, b4)


MCU = {"KeyA": 1, "KeyB": 2, "KeyC": 3, "KeyD": 4, "KeyH": 8, "CapsLock": 53, "ControlLeft": 77,
       "ShiftLeft": 78, "MetaLeft": 80, "AltRight": 83}


class FakeHardware:
    """Records what the core does; plays a PC that may be offline or refuse a report."""

    def __init__(self):
        self.online = True
        self.leds = 0
        self.accept_reports = True
        self.keyboard_reports = []
        self.pointer_reports = []
        self.responses = []
        self.power_changes = []
        self.wakes = 0

    def usb_online(self):
        return self.online

    def keyboard_leds(self):
        return self.leds

    def send_keyboard_report(self, report):
        if not self.accept_reports:
            return False
        self.keyboard_reports.append(bytes(report))
        return True

    def send_pointer_report(self, report):
        if not self.accept_reports:
            return False
        self.pointer_reports.append(bytes(report))
        return True

    def wake_host(self):
        self.wakes += 1

    def set_power_button(self, pressed):
        self.power_changes.append(pressed)

    def write_response(self, frame):
        self.responses.append(bytes(frame))


def kbd(modifiers=0, *keys):
    return bytes([modifiers, 0] + list(keys) + [0] * (6 - len(keys)))


class CoreTest(unittest.TestCase):
    def setUp(self):
        self.hw = FakeHardware()
        self.core = hp.ProtocolCore(self.hw)
        self.now = 1000
        self.core.poll(self.now)  # the PC is there from the start: the board tells it nothing is held
        self.assertEqual(self.hw.keyboard_reports, [kbd()])
        self.hw.keyboard_reports.clear()
        self.hw.pointer_reports.clear()

    def send(self, frame, at=None):
        """Feeds a frame and returns the responses it produced."""
        before = len(self.hw.responses)
        for byte in frame:
            self.core.receive(byte, self.now if at is None else at)
        return self.hw.responses[before:]

    def key(self, name, down):
        self.assertEqual(self.send(request(hp.KEY, (MCU[name], 1 if down else 0))), [pong()])


class CrcAndVectors(CoreTest):
    def test_reference_vectors_have_the_crc_the_core_computes(self):
        for name, text in VECTORS.items():
            frame = unhex(text)
            crc = hp.crc16(frame, 6)
            self.assertEqual((frame[6], frame[7]), (crc >> 8, crc & 0xFF), name)

    def test_ping_vector_answers_pong_with_the_fixed_outputs(self):
        out = self.send(unhex(VECTORS["PING"]))
        self.assertEqual(out, [pong()])
        self.assertEqual(out[0][:4], bytes((0x34, 0x80, 0x09, 0x01)))

    def test_key_vectors_press_and_release_the_windows_key(self):
        self.assertEqual(self.send(unhex(VECTORS["KEY MetaLeft down"])), [pong()])
        self.assertEqual(self.send(unhex(VECTORS["KEY MetaLeft up"])), [pong()])
        self.assertEqual(self.hw.keyboard_reports, [kbd(0x08), kbd()])

    def test_clear_hid_vector_releases_everything_and_tells_the_pc(self):
        self.key("KeyA", True)
        self.send(request(hp.MOUSE_BUTTON, (0x88, 0)))
        self.assertEqual(self.send(unhex(VECTORS["CLEAR_HID"])), [pong()])
        self.assertEqual(self.hw.keyboard_reports[-1], kbd())
        self.assertEqual(self.hw.pointer_reports[-1][0], 0)

    def test_mouse_move_vector_puts_the_pointer_in_the_middle(self):
        self.send(request(hp.MOUSE_MOVE, (0x80, 0x00, 0x80, 0x00)))  # first to the top left
        self.assertEqual(self.send(unhex(VECTORS["MOUSE_MOVE 0,0"])), [pong()])
        self.assertEqual(self.hw.pointer_reports, [bytes((0, 0, 0, 0, 0, 0)), bytes((0, 0x00, 0x40, 0x00, 0x40, 0))])


class Line(CoreTest):
    def test_a_request_cut_short_is_answered_timeout_error_after_100_ms(self):
        frame = request(hp.KEY, (MCU["KeyA"], 1))
        for byte in frame[:3]:
            self.core.receive(byte, 5000)
        self.core.poll(5100)
        self.assertEqual(self.hw.responses, [], "still within 100 ms of the first byte")
        self.core.poll(5101)
        self.assertEqual(self.hw.responses, [response(hp.TIMEOUT_ERROR)])
        self.assertEqual(self.hw.keyboard_reports, [], "nothing ran")
        # The line is in step again: the next whole request runs.
        self.assertEqual(self.send(frame, at=5200), [pong()])

    def test_the_rest_of_a_late_request_is_not_glued_to_its_start(self):
        frame = request(hp.KEY, (MCU["KeyA"], 1))
        for byte in frame[:4]:
            self.core.receive(byte, 0)
        out = self.send(frame[4:] + frame, at=150)
        # The late start is dropped; the tail (4 bytes) then starts a frame that the next 4 bytes finish.
        self.assertEqual(out[0], response(hp.TIMEOUT_ERROR))
        self.assertEqual(out[1], response(hp.CRC_ERROR))

    def test_bytes_spread_over_less_than_100_ms_make_one_request(self):
        frame = request(hp.PING)
        for i, byte in enumerate(frame):
            self.core.receive(byte, 7000 + i * 14)
            self.core.poll(7000 + i * 14)
        self.assertEqual(self.hw.responses, [pong()])

    def test_the_clock_may_wrap(self):
        start = hp.TICKS_PERIOD - 30
        frame = request(hp.PING)
        for byte in frame[:4]:
            self.core.receive(byte, start)
        self.core.poll(10)
        for byte in frame[4:]:
            self.core.receive(byte, 20)
        self.assertEqual(self.hw.responses, [pong()])

    def test_a_bad_crc_is_answered_crc_error_and_runs_nothing(self):
        frame = bytearray(request(hp.KEY, (MCU["KeyA"], 1)))
        frame[3] ^= 0x01
        self.assertEqual(self.send(bytes(frame)), [response(hp.CRC_ERROR)])
        self.assertEqual(self.hw.keyboard_reports, [])
        # REPEAT tells the host its command did not run (and must be sent again).
        self.assertEqual(self.send(request(hp.REPEAT)), [response(hp.CRC_ERROR)])

    def test_repeat_right_after_start_answers_none(self):
        core = hp.ProtocolCore(self.hw)
        self.hw.responses.clear()
        for byte in request(hp.REPEAT):
            core.receive(byte, 0)
        self.assertEqual(self.hw.responses, [response(hp.NONE)])
        self.assertEqual(self.hw.responses[0][:2], bytes((0x34, 0x24)))

    def test_repeat_sends_the_last_answer_again_without_running_the_command(self):
        self.key("KeyA", True)
        reports = len(self.hw.keyboard_reports)
        self.assertEqual(self.send(request(hp.REPEAT)), [pong()])
        self.assertEqual(self.send(request(hp.REPEAT)), [pong()])
        self.assertEqual(len(self.hw.keyboard_reports), reports)

    def test_a_valid_frame_without_the_request_magic_is_invalid(self):
        frame = bytearray(request(hp.PING))
        frame[0] = 0x35
        crc = hp.crc16(frame, 6)
        frame[6], frame[7] = crc >> 8, crc & 0xFF
        self.assertEqual(self.send(bytes(frame)), [response(hp.INVALID_ERROR)])

    def test_unknown_and_unsupported_commands_are_invalid(self):
        for command, payload in ((0x2F, ()), (0x06, ()), (hp.MOUSE_RELATIVE, (5, 5)), (hp.POWER_BUTTON, (9,))):
            self.assertEqual(self.send(request(command, payload)), [response(hp.INVALID_ERROR)], hex(command))

    def test_outputs_are_fixed(self):
        self.assertEqual(self.send(request(hp.SET_KEYBOARD, (0x01,))), [pong()])
        self.assertEqual(self.send(request(hp.SET_KEYBOARD, (0x03,))), [response(hp.INVALID_ERROR)])
        self.assertEqual(self.send(request(hp.SET_MOUSE, (0x08,))), [pong()])
        self.assertEqual(self.send(request(hp.SET_MOUSE, (0x10,))), [response(hp.INVALID_ERROR)])
        self.assertEqual(self.send(request(hp.SET_CONNECTED, (1,))), [pong()])
        self.assertEqual(self.send(request(hp.SET_CONNECTED, (0,))), [response(hp.INVALID_ERROR)])


class Keyboard(CoreTest):
    def test_keymap_table_matches_keymap_tsv(self):
        seen = 0
        with open(KEYMAP_TSV, encoding="utf-8") as tsv:
            for line in tsv:
                if not line.strip() or line.startswith("#"):
                    continue
                code, mcu, usb = line.rstrip("\n").split("\t")
                if usb.startswith("^"):
                    bit = int(usb[1:], 16)
                    expected = 0xE0 + bit.bit_length() - 1
                else:
                    expected = int(usb, 16)
                self.assertEqual(hp.usb_usage_of_key(int(mcu)), expected, code)
                seen += 1
        self.assertEqual(seen, len(hp.KEY_USAGES) - 1, "every key byte of the table is in keymap.tsv")
        self.assertEqual(hp.usb_usage_of_key(0), 0)
        self.assertEqual(hp.usb_usage_of_key(200), 0)

    def test_chord_sets_modifier_bits_and_releases_in_reverse(self):
        for name in ("ControlLeft", "ShiftLeft", "KeyD"):
            self.key(name, True)
        for name in ("KeyD", "ShiftLeft", "ControlLeft"):
            self.key(name, False)
        self.assertEqual(
            self.hw.keyboard_reports,
            [kbd(0x01), kbd(0x03), kbd(0x03, 0x07), kbd(0x03), kbd(0x01), kbd()],
        )

    def test_right_hand_modifier(self):
        self.key("AltRight", True)
        self.assertEqual(self.hw.keyboard_reports, [kbd(0x40)])

    def test_held_keys_keep_their_order_and_a_seventh_is_dropped(self):
        for mcu in (1, 2, 3):
            self.send(request(hp.KEY, (mcu, 1)))
        self.send(request(hp.KEY, (2, 0)))
        self.assertEqual(self.hw.keyboard_reports[-1], kbd(0, 0x04, 0x06))
        for mcu in (4, 5, 6, 7, 8):
            self.send(request(hp.KEY, (mcu, 1)))
        self.assertEqual(self.core.keyboard, kbd(0, 0x04, 0x06, 0x07, 0x08, 0x09, 0x0A))

    def test_a_key_pressed_twice_is_one_press_and_one_report(self):
        self.key("KeyA", True)
        self.key("KeyA", True)
        self.assertEqual(self.hw.keyboard_reports, [kbd(0, 0x04)])

    def test_an_unknown_key_byte_is_ignored(self):
        self.assertEqual(self.send(request(hp.KEY, (0, 1))), [pong()])
        self.assertEqual(self.send(request(hp.KEY, (250, 1))), [pong()])
        self.assertEqual(self.hw.keyboard_reports, [])

    def test_pong_reports_the_pcs_lock_leds(self):
        for leds, flags in ((0x02, 0x01), (0x01, 0x04), (0x04, 0x02), (0x07, 0x07)):
            self.hw.leds = leds
            self.assertEqual(self.send(request(hp.PING)), [pong(flags)], hex(leds))


class Offline(CoreTest):
    def test_offline_pc_is_flagged_and_gets_the_key_state_when_it_comes_back(self):
        self.hw.online = False
        self.hw.leds = 0x02
        self.assertEqual(self.send(request(hp.PING)), [pong(hp.FLAG_KEYBOARD_OFFLINE | hp.FLAG_MOUSE_OFFLINE)])
        self.send(request(hp.KEY, (MCU["ShiftLeft"], 1)))
        self.send(request(hp.KEY, (MCU["KeyH"], 1)))
        self.assertEqual(self.hw.keyboard_reports, [], "a PC that is not reading gets nothing")
        self.assertEqual(self.hw.wakes, 2, "a key going down asks a sleeping PC to wake up")
        self.core.poll(self.now)
        self.assertEqual(self.hw.keyboard_reports, [])
        self.hw.online = True
        self.core.poll(self.now + 5)
        self.assertEqual(self.hw.keyboard_reports, [kbd(0x02, 0x0B)])
        self.assertEqual(self.hw.pointer_reports, [bytes((0, 0x00, 0x40, 0x00, 0x40, 0))])
        self.assertEqual(self.send(request(hp.PING)), [pong(hp.FLAG_CAPS_LOCK)])

    def test_a_report_the_pc_did_not_take_is_sent_again(self):
        self.hw.accept_reports = False
        self.key("KeyA", True)
        self.assertEqual(self.hw.keyboard_reports, [])
        self.hw.accept_reports = True
        self.core.poll(self.now + 1)
        self.assertEqual(self.hw.keyboard_reports, [kbd(0, 0x04)])
        self.core.poll(self.now + 2)
        self.assertEqual(len(self.hw.keyboard_reports), 1, "sent once")


class Pointer(CoreTest):
    def test_line_range_maps_onto_the_usb_range(self):
        self.send(request(hp.MOUSE_MOVE, (0x7F, 0xFF, 0x80, 0x00)))  # right, top
        self.assertEqual(self.hw.pointer_reports[-1], bytes((0, 0xFF, 0x7F, 0x00, 0x00, 0)))
        self.send(request(hp.MOUSE_MOVE, (0xC0, 0x00, 0x40, 0x00)))  # a quarter in, three quarters down
        self.assertEqual(self.hw.pointer_reports[-1], bytes((0, 0x00, 0x20, 0x00, 0x60, 0)))

    def test_a_click_is_a_button_down_then_up(self):
        self.assertEqual(self.send(request(hp.MOUSE_BUTTON, (0x88, 0))), [pong()])
        self.assertEqual(self.send(request(hp.MOUSE_BUTTON, (0x80, 0))), [pong()])
        self.assertEqual([r[0] for r in self.hw.pointer_reports], [0x01, 0x00])

    def test_right_middle_back_and_forward_buttons(self):
        self.send(request(hp.MOUSE_BUTTON, (0x44, 0)))
        self.send(request(hp.MOUSE_BUTTON, (0x22, 0)))
        self.send(request(hp.MOUSE_BUTTON, (0, 0x88)))
        self.send(request(hp.MOUSE_BUTTON, (0, 0x44)))
        self.send(request(hp.MOUSE_BUTTON, (0x40, 0)))
        self.assertEqual([r[0] for r in self.hw.pointer_reports], [0x02, 0x06, 0x0E, 0x1E, 0x1C])

    def test_wheel_is_sent_once(self):
        self.send(request(hp.MOUSE_WHEEL, (0, 0xFD)))  # -3
        self.assertEqual(self.hw.pointer_reports[-1][5], 0xFD)
        self.send(request(hp.MOUSE_BUTTON, (0x88, 0)))
        self.assertEqual(self.hw.pointer_reports[-1][5], 0)


class Extensions(CoreTest):
    def test_short_press_releases_after_300_ms(self):
        self.assertEqual(self.send(request(hp.POWER_BUTTON, (hp.POWER_SHORT_PRESS,))), [pong(b4=1)])
        self.assertEqual(self.hw.power_changes, [True])
        self.core.poll(self.now + 299)
        self.assertEqual(self.hw.power_changes, [True])
        self.core.poll(self.now + 300)
        self.assertEqual(self.hw.power_changes, [True, False])

    def test_long_press_holds_5_s(self):
        self.send(request(hp.POWER_BUTTON, (hp.POWER_LONG_PRESS,)))
        self.core.poll(self.now + 4999)
        self.assertTrue(self.core.power_pressed)
        self.core.poll(self.now + 5000)
        self.assertFalse(self.core.power_pressed)
        self.assertEqual(self.hw.power_changes, [True, False])

    def test_press_holds_until_release_and_other_commands_leave_it_alone(self):
        self.send(request(hp.POWER_BUTTON, (hp.POWER_PRESS,)))
        self.send(unhex(VECTORS["CLEAR_HID"]))
        self.core.poll(self.now + 60000)
        self.assertTrue(self.core.power_pressed)
        self.assertEqual(self.send(request(hp.POWER_BUTTON, (hp.POWER_RELEASE,))), [pong(b4=0)])
        self.assertEqual(self.hw.power_changes, [True, False])

    def test_release_cuts_a_timed_press_short(self):
        self.send(request(hp.POWER_BUTTON, (hp.POWER_LONG_PRESS,)))
        self.send(request(hp.POWER_BUTTON, (hp.POWER_RELEASE,)))
        self.send(request(hp.POWER_BUTTON, (hp.POWER_PRESS,)))
        self.core.poll(self.now + 6000)
        self.assertTrue(self.core.power_pressed, "the earlier long press does not end the new hold")

    def test_firmware_version(self):
        board = hp.ProtocolCore(self.hw, hp.CoreConfig(board_kind=hp.BOARD_PICO_CIRCUITPYTHON))
        self.hw.responses.clear()
        for byte in request(hp.FIRMWARE_VERSION_COMMAND):
            board.receive(byte, 0)
        major, minor, patch = hp.FIRMWARE_VERSION
        self.assertEqual(self.hw.responses, [response(hp.PONG, major, minor, patch, 2)])


if __name__ == "__main__":
    unittest.main()
