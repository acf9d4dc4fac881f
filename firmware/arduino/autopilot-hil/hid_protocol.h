// The board's side of the serial HID protocol (shared/reference/serial-hid-protocol.md), free of hardware:
// frame assembly with the 100 ms timeout, CRC, REPEAT, the key and pointer state as USB boot reports, and
// the project's extension commands. The sketch feeds it UART bytes and a millisecond clock and gives it a
// HidHardware; the host build (firmware/host-test) gives it a stub. Plain C++11, no Arduino headers.
#ifndef AUTOPILOT_HIL_HID_PROTOCOL_H
#define AUTOPILOT_HIL_HID_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

namespace hil {

const uint8_t FIRMWARE_MAJOR = 1;
const uint8_t FIRMWARE_MINOR = 0;
const uint8_t FIRMWARE_PATCH = 0;

const uint8_t REQUEST_MAGIC = 0x33;
const uint8_t RESPONSE_MAGIC = 0x34;
const uint8_t FRAME_LENGTH = 8;
const uint8_t KEYBOARD_REPORT_LENGTH = 8;  // boot report: modifiers, reserved, 6 key slots
const uint8_t POINTER_REPORT_LENGTH = 6;   // buttons, x (LE), y (LE), wheel

namespace command {
const uint8_t PING = 0x01;
const uint8_t REPEAT = 0x02;
const uint8_t SET_KEYBOARD = 0x03;
const uint8_t SET_MOUSE = 0x04;
const uint8_t SET_CONNECTED = 0x05;
const uint8_t CLEAR_HID = 0x10;
const uint8_t KEY = 0x11;
const uint8_t MOUSE_MOVE = 0x12;
const uint8_t MOUSE_BUTTON = 0x13;
const uint8_t MOUSE_WHEEL = 0x14;
const uint8_t MOUSE_RELATIVE = 0x15;
// The project's extensions (codes from 0x20 up are free in the protocol); see firmware/README.md.
const uint8_t POWER_BUTTON = 0x20;
const uint8_t FIRMWARE_VERSION = 0x21;
}  // namespace command

namespace response {
const uint8_t NONE = 0x24;
const uint8_t CRC_ERROR = 0x40;
const uint8_t INVALID_ERROR = 0x45;
const uint8_t TIMEOUT_ERROR = 0x48;
const uint8_t PONG = 0x80;
}  // namespace response

namespace pong_flag {
const uint8_t CAPS_LOCK = 0x01;
const uint8_t SCROLL_LOCK = 0x02;
const uint8_t NUM_LOCK = 0x04;
const uint8_t KEYBOARD_OFFLINE = 0x08;
const uint8_t MOUSE_OFFLINE = 0x10;
}  // namespace pong_flag

// Bits of the keyboard's USB output report (the PC's lock LEDs).
namespace usb_led {
const uint8_t NUM_LOCK = 0x01;
const uint8_t CAPS_LOCK = 0x02;
const uint8_t SCROLL_LOCK = 0x04;
}  // namespace usb_led

// The fixed outputs of this board, as PONG reports them: keyboard on USB, mouse USB absolute; has USB.
const uint8_t OUTPUT_KEYBOARD_USB = 0x01;
const uint8_t OUTPUT_MOUSE_USB_ABSOLUTE = 0x08;
const uint8_t OUTPUTS1 = OUTPUT_KEYBOARD_USB | OUTPUT_MOUSE_USB_ABSOLUTE;
const uint8_t OUTPUTS2 = 0x01;

// POWER_BUTTON actions (payload byte 0).
namespace power_action {
const uint8_t RELEASE = 0;
const uint8_t PRESS = 1;        // hold until RELEASE
const uint8_t SHORT_PRESS = 2;  // press, release after shortPressMs
const uint8_t LONG_PRESS = 3;   // press, release after longPressMs (forces a PC off)
}  // namespace power_action

// Which firmware answers FIRMWARE_VERSION (its byte 5).
namespace board_kind {
const uint8_t HOST_TEST = 0;
const uint8_t ARDUINO_ATMEGA32U4 = 1;
const uint8_t PICO_CIRCUITPYTHON = 2;
}  // namespace board_kind

uint16_t crc16(const uint8_t* bytes, size_t length);

// The USB HID usage (page 0x07) of a KEY command's key byte (keymap.tsv's mcu column); modifiers are
// 0xE0..0xE7 (bit n of the boot report's byte 0 is usage 0xE0 + n). 0 for a byte with no key.
uint8_t usbUsageOfKey(uint8_t mcu);
const uint8_t HIGHEST_KEY = 126;

// What the core drives. The sketch implements it with the USB HID reports, the UART and a pin.
class HidHardware {
 public:
  // The PC reads the board's keyboard and pointer (USB configured and not suspended).
  virtual bool usbOnline() = 0;
  // The PC's lock LEDs from the keyboard's output report (usb_led bits).
  virtual uint8_t keyboardLeds() = 0;
  // Deliver a report; false when it could not be (it is sent again later).
  virtual bool sendKeyboardReport(const uint8_t report[KEYBOARD_REPORT_LENGTH]) = 0;
  virtual bool sendPointerReport(const uint8_t report[POINTER_REPORT_LENGTH]) = 0;
  // A key went down while the PC is not reading: ask a suspended PC to wake up (remote wakeup).
  virtual void wakeHost() {}
  virtual void setPowerButton(bool pressed) = 0;
  virtual void writeResponse(const uint8_t frame[FRAME_LENGTH]) = 0;

 protected:
  ~HidHardware() {}
};

struct CoreConfig {
  uint16_t frameTimeoutMs;
  uint16_t shortPressMs;
  uint16_t longPressMs;
  uint8_t boardKind;
  CoreConfig(uint8_t kind = board_kind::HOST_TEST)
      : frameTimeoutMs(100), shortPressMs(300), longPressMs(5000), boardKind(kind) {}
};

class ProtocolCore {
 public:
  explicit ProtocolCore(HidHardware& hardware, const CoreConfig& config = CoreConfig());

  // One byte from the host's line, with the time it was read.
  void receive(uint8_t byte, uint32_t nowMs);
  // Call often (every loop): drops a late partial request, ends a timed power press, sends the key state
  // again when the PC comes back.
  void poll(uint32_t nowMs);

  const uint8_t* keyboardReport() const { return keyboard_; }
  const uint8_t* pointerReport() const { return pointer_; }
  bool powerButtonPressed() const { return powerPressed_; }

 private:
  void expirePartialFrame(uint32_t nowMs);
  void handleFrame(uint32_t nowMs);
  void runCommand(uint8_t code, const uint8_t* payload, uint32_t nowMs);
  void respond(uint8_t code, uint8_t b2 = 0, uint8_t b3 = 0, uint8_t b4 = 0, uint8_t b5 = 0, bool remember = true);
  void respondPong(uint8_t b4 = 0);
  uint8_t pongCode();

  void key(uint8_t mcu, bool down);
  void releaseAll();
  void moveTo(const uint8_t* payload);
  void buttons(uint8_t main, uint8_t extra);
  void wheel(int8_t dy);
  bool power(uint8_t action, uint32_t nowMs);
  void setPower(bool pressed);

  void trackOnline();
  void flushReports();

  HidHardware& hw_;
  CoreConfig config_;

  uint8_t frame_[FRAME_LENGTH];
  uint8_t frameLength_;
  uint32_t frameStartMs_;

  uint8_t last_[FRAME_LENGTH];
  bool hasLast_;

  uint8_t keyboard_[KEYBOARD_REPORT_LENGTH];
  uint8_t pointer_[POINTER_REPORT_LENGTH];
  bool keyboardPending_;
  bool pointerPending_;
  bool wasOnline_;

  bool powerPressed_;
  bool powerTimed_;
  uint32_t powerStartMs_;
  uint32_t powerDurationMs_;
};

}  // namespace hil

#endif
