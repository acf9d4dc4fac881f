# autopilot-hil on a Raspberry Pi Pico with CircuitPython: the serial HID protocol on UART0 (GP0 TX, GP1 RX)
# towards the host, a USB keyboard and absolute pointer towards the PC under test (set up in boot.py),
# and GP2 driving the power-button relay or opto-coupler. The protocol is hid_protocol.py (the same core
# as the Arduino firmware's, tested under CPython); this file only connects it to the hardware.
# Needs the adafruit_hid library in CIRCUITPY/lib (firmware/README.md).
import board
import busio
import digitalio
import supervisor
import usb_hid
from adafruit_hid import find_device

import hid_protocol

BAUD_RATE = 115200
UART_TX = board.GP0
UART_RX = board.GP1
POWER_BUTTON_PIN = board.GP2  # high = pressed
# After a report the PC did not take, report the keyboard offline for this long, then try again.
RETRY_AFTER_FAILURE_MS = 500


class PicoHardware:
    """The hardware side of hid_protocol.ProtocolCore."""

    def __init__(self, uart):
        self.uart = uart
        # adafruit_hid finds our two devices among those boot.py enabled. Its Keyboard class is not used:
        # it keeps a key state of its own and raises at start-up when the PC is off.
        self.keyboard_device = find_device(usb_hid.devices, usage_page=0x01, usage=0x06)
        self.pointer_device = find_device(usb_hid.devices, usage_page=0x01, usage=0x02)
        self.power = digitalio.DigitalInOut(POWER_BUTTON_PIN)
        self.power.switch_to_output(value=False)
        self.led = digitalio.DigitalInOut(board.LED)
        self.led.switch_to_output(value=False)
        self.failed_at = None

    def usb_online(self):
        online = supervisor.runtime.usb_connected
        if online and self.failed_at is not None:
            if hid_protocol.ticks_diff(supervisor.ticks_ms(), self.failed_at) < RETRY_AFTER_FAILURE_MS:
                online = False
            else:
                self.failed_at = None
        self.led.value = online
        return online

    def keyboard_leds(self):
        report = self.keyboard_device.get_last_received_report()
        return report[0] if report else 0

    def send_keyboard_report(self, report):
        return self._send(self.keyboard_device, report)

    def send_pointer_report(self, report):
        return self._send(self.pointer_device, report)

    def _send(self, device, report):
        try:
            device.send_report(report)
            return True
        except OSError:
            # USB busy or gone (the PC is off, asleep or rebooting): the core sends the state again later.
            self.failed_at = supervisor.ticks_ms()
            return False

    def wake_host(self):
        pass  # CircuitPython has no remote-wakeup call

    def set_power_button(self, pressed):
        self.power.value = pressed

    def write_response(self, frame):
        self.uart.write(frame)


def main():
    uart = busio.UART(UART_TX, UART_RX, baudrate=BAUD_RATE, timeout=0, receiver_buffer_size=256)
    hardware = PicoHardware(uart)
    config = hid_protocol.CoreConfig(board_kind=hid_protocol.BOARD_PICO_CIRCUITPYTHON)
    core = hid_protocol.ProtocolCore(hardware, config)
    while True:
        waiting = uart.in_waiting
        if waiting:
            data = uart.read(waiting)
            if data:
                now = supervisor.ticks_ms()
                for byte in data:
                    core.receive(byte, now)
        core.poll(supervisor.ticks_ms())


try:
    main()
except Exception as error:  # noqa: BLE001 - the board must come back rather than sit in the REPL
    print("autopilot-hil: restarting after", repr(error))
    supervisor.reload()
