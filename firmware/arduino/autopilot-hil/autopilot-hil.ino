// autopilot-hil board firmware for the ATmega32U4 (Arduino Leonardo, Pro Micro 5 V / 16 MHz).
// The board's own USB port goes to the PC under test (a boot keyboard and an absolute pointer); the host
// speaks the serial HID protocol (shared/reference/serial-hid-protocol.md) to the hardware UART, Serial1
// on pins 0 (RX) and 1 (TX), through a USB-serial adapter. Pin 4 drives the power-button relay or
// opto-coupler. The protocol itself lives in hid_protocol.cpp; this file only connects it to the hardware.
#include "hid_protocol.h"
#include "usb_hid_devices.h"

const unsigned long BAUD_RATE = 115200;
const uint8_t POWER_BUTTON_PIN = 4;  // HIGH = pressed (relay coil driver or opto-coupler LED)
const uint8_t ONLINE_LED_PIN = LED_BUILTIN;  // lit while the PC reads the keyboard

BootKeyboard usbKeyboard;
AbsolutePointer usbPointer;

class BoardHardware : public hil::HidHardware {
 public:
  bool usbOnline() override { return USBDevice.configured() && !USBDevice.isSuspended(); }
  uint8_t keyboardLeds() override { return USBDevice.configured() ? usbKeyboard.leds() : 0; }
  bool sendKeyboardReport(const uint8_t report[hil::KEYBOARD_REPORT_LENGTH]) override { return usbKeyboard.send(report); }
  bool sendPointerReport(const uint8_t report[hil::POINTER_REPORT_LENGTH]) override { return usbPointer.send(report); }
  void wakeHost() override { USBDevice.wakeupHost(); }  // does nothing unless the PC allowed remote wakeup
  void setPowerButton(bool pressed) override { digitalWrite(POWER_BUTTON_PIN, pressed ? HIGH : LOW); }
  void writeResponse(const uint8_t frame[hil::FRAME_LENGTH]) override { Serial1.write(frame, hil::FRAME_LENGTH); }
};

BoardHardware hardware;
hil::ProtocolCore core(hardware, hil::CoreConfig(hil::board_kind::ARDUINO_ATMEGA32U4));

void setup() {
  // The power button is released from the first instant: a reset never presses it.
  digitalWrite(POWER_BUTTON_PIN, LOW);
  pinMode(POWER_BUTTON_PIN, OUTPUT);
  pinMode(ONLINE_LED_PIN, OUTPUT);
  Serial1.begin(BAUD_RATE);
}

void loop() {
  while (Serial1.available() > 0) core.receive(static_cast<uint8_t>(Serial1.read()), millis());
  core.poll(millis());
  digitalWrite(ONLINE_LED_PIN, hardware.usbOnline() ? HIGH : LOW);
}
