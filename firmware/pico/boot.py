# autopilot-hil on a Raspberry Pi Pico with CircuitPython: runs once at power-up, before the Pico shows
# itself on USB. The Pico's USB port goes to the PC under test, which should see a keyboard and a pointer
# and nothing else; hold GP15 to GND at power-up (development mode) to keep the CIRCUITPY drive and the
# serial console for updates.
import board
import digitalio
import storage
import supervisor
import usb_cdc
import usb_hid
import usb_midi

# A mouse with absolute X/Y in 0..32767, five buttons and a wheel, as report 2 (the keyboard is report 1).
# Same layout as the Arduino firmware's pointer; the report is buttons, x (LE), y (LE), wheel.
ABSOLUTE_POINTER_DESCRIPTOR = bytes((
    0x05, 0x01,        # Usage Page (Generic Desktop)
    0x09, 0x02,        # Usage (Mouse)
    0xA1, 0x01,        # Collection (Application)
    0x85, 0x02,        #   Report ID (2)
    0x09, 0x01,        #   Usage (Pointer)
    0xA1, 0x00,        #   Collection (Physical)
    0x05, 0x09,        #     Usage Page (Button)
    0x19, 0x01,        #     Usage Minimum (1)
    0x29, 0x05,        #     Usage Maximum (5)
    0x15, 0x00,        #     Logical Minimum (0)
    0x25, 0x01,        #     Logical Maximum (1)
    0x95, 0x05,        #     Report Count (5)
    0x75, 0x01,        #     Report Size (1)
    0x81, 0x02,        #     Input (Data, Variable, Absolute): buttons
    0x95, 0x01,        #     Report Count (1)
    0x75, 0x03,        #     Report Size (3)
    0x81, 0x01,        #     Input (Constant): padding
    0x05, 0x01,        #     Usage Page (Generic Desktop)
    0x09, 0x30,        #     Usage (X)
    0x09, 0x31,        #     Usage (Y)
    0x15, 0x00,        #     Logical Minimum (0)
    0x26, 0xFF, 0x7F,  #     Logical Maximum (32767)
    0x75, 0x10,        #     Report Size (16)
    0x95, 0x02,        #     Report Count (2)
    0x81, 0x02,        #     Input (Data, Variable, Absolute): X, Y
    0x09, 0x38,        #     Usage (Wheel)
    0x15, 0x81,        #     Logical Minimum (-127)
    0x25, 0x7F,        #     Logical Maximum (127)
    0x75, 0x08,        #     Report Size (8)
    0x95, 0x01,        #     Report Count (1)
    0x81, 0x06,        #     Input (Data, Variable, Relative): wheel
    0xC0,              #   End Collection
    0xC0,              # End Collection
))

absolute_pointer = usb_hid.Device(
    report_descriptor=ABSOLUTE_POINTER_DESCRIPTOR,
    usage_page=0x01,
    usage=0x02,
    report_ids=(2,),
    in_report_lengths=(6,),
    out_report_lengths=(0,),
)

# boot_device=1 offers a boot keyboard, for PCs' firmware setup screens.
usb_hid.enable((usb_hid.Device.KEYBOARD, absolute_pointer), boot_device=1)

development = digitalio.DigitalInOut(board.GP15)
development.switch_to_input(pull=digitalio.Pull.UP)
if development.value:
    storage.disable_usb_drive()
    usb_cdc.disable()
    usb_midi.disable()
development.deinit()

if hasattr(supervisor, "set_usb_identification"):
    supervisor.set_usb_identification("autopilot-hil", "autopilot-hil HID")
