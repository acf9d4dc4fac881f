// The protocol core: see hid_protocol.h. Every command that runs is answered with PONG and the flags
// (LEDs, keyboard offline); errors are remembered as the last response too, so that a REPEAT after a
// garbled CRC_ERROR does not tell the host that its command ran.
#include "hid_protocol.h"

#ifdef __AVR__
#include <avr/pgmspace.h>
#define HIL_TABLE PROGMEM
#define HIL_READ_TABLE(table, i) pgm_read_byte(&(table)[i])
#else
#define HIL_TABLE
#define HIL_READ_TABLE(table, i) ((table)[i])
#endif

namespace hil {

// keymap.tsv: index = the key byte of KEY, value = USB usage (modifiers as 0xE0 + bit). The test
// (test/firmware.test.ts) checks this table against keymap.tsv through `core-on-pty --keymap`.
static const uint8_t KEY_USAGES[HIGHEST_KEY + 1] HIL_TABLE = {
    0x00, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12,
    0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22,
    0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x33,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43,
    0x44, 0x45, 0x46, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0xe0, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0x48, 0x47, 0x53, 0x65, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a,
    0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x66, 0x64, 0x89, 0x87, 0x88, 0x8a, 0x8b,
    0x7f, 0x80, 0x81, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e,
};

const uint8_t FIRST_MODIFIER_USAGE = 0xe0;
const uint8_t LAST_MODIFIER_USAGE = 0xe7;
const uint8_t KEY_SLOTS = 6;

uint16_t crc16(const uint8_t* bytes, size_t length) {
  uint16_t crc = 0xffff;
  for (size_t i = 0; i < length; i++) {
    crc ^= bytes[i];
    for (uint8_t bit = 0; bit < 8; bit++) crc = (crc & 1) ? (crc >> 1) ^ 0xa001 : crc >> 1;
  }
  return crc;
}

uint8_t usbUsageOfKey(uint8_t mcu) {
  return mcu <= HIGHEST_KEY ? HIL_READ_TABLE(KEY_USAGES, mcu) : 0;
}

ProtocolCore::ProtocolCore(HidHardware& hardware, const CoreConfig& config)
    : hw_(hardware),
      config_(config),
      frameLength_(0),
      frameStartMs_(0),
      hasLast_(false),
      keyboardPending_(false),
      pointerPending_(false),
      wasOnline_(false),
      powerPressed_(false),
      powerTimed_(false),
      powerStartMs_(0),
      powerDurationMs_(0) {
  for (uint8_t i = 0; i < FRAME_LENGTH; i++) frame_[i] = last_[i] = 0;
  for (uint8_t i = 0; i < KEYBOARD_REPORT_LENGTH; i++) keyboard_[i] = 0;
  for (uint8_t i = 0; i < POINTER_REPORT_LENGTH; i++) pointer_[i] = 0;
  // The pointer starts in the middle of the screen rather than in a corner.
  pointer_[1] = 0x00;
  pointer_[2] = 0x40;
  pointer_[3] = 0x00;
  pointer_[4] = 0x40;
}

void ProtocolCore::receive(uint8_t byte, uint32_t nowMs) {
  expirePartialFrame(nowMs);
  if (frameLength_ == 0) frameStartMs_ = nowMs;
  frame_[frameLength_++] = byte;
  if (frameLength_ == FRAME_LENGTH) {
    frameLength_ = 0;
    handleFrame(nowMs);
  }
}

void ProtocolCore::poll(uint32_t nowMs) {
  expirePartialFrame(nowMs);
  // Unsigned subtraction keeps working when millis() wraps after 49 days.
  if (powerTimed_ && nowMs - powerStartMs_ >= powerDurationMs_) setPower(false);
  trackOnline();
  flushReports();
}

void ProtocolCore::expirePartialFrame(uint32_t nowMs) {
  if (frameLength_ > 0 && nowMs - frameStartMs_ > config_.frameTimeoutMs) {
    frameLength_ = 0;
    respond(response::TIMEOUT_ERROR);
  }
}

void ProtocolCore::handleFrame(uint32_t nowMs) {
  uint16_t crc = crc16(frame_, 6);
  if (frame_[6] != (crc >> 8) || frame_[7] != (crc & 0xff)) return respond(response::CRC_ERROR);
  if (frame_[0] != REQUEST_MAGIC) return respond(response::INVALID_ERROR);
  if (frame_[1] == command::REPEAT) {
    // The last response again without running anything; NONE when there is none (the board restarted).
    if (hasLast_) {
      hw_.writeResponse(last_);
      return;
    }
    return respond(response::NONE, 0, 0, 0, 0, false);
  }
  trackOnline();
  runCommand(frame_[1], frame_ + 2, nowMs);
}

void ProtocolCore::runCommand(uint8_t code, const uint8_t* payload, uint32_t nowMs) {
  switch (code) {
    case command::PING:
      return respondPong();
    case command::SET_KEYBOARD:
      // A fixed board: asking for the output it has is fine, any other is refused.
      return payload[0] == OUTPUT_KEYBOARD_USB ? respondPong() : respond(response::INVALID_ERROR);
    case command::SET_MOUSE:
      return payload[0] == OUTPUT_MOUSE_USB_ABSOLUTE ? respondPong() : respond(response::INVALID_ERROR);
    case command::SET_CONNECTED:
      return payload[0] == 1 ? respondPong() : respond(response::INVALID_ERROR);
    case command::CLEAR_HID:
      releaseAll();
      return respondPong();
    case command::KEY:
      key(payload[0], payload[1] != 0);
      return respondPong();
    case command::MOUSE_MOVE:
      moveTo(payload);
      return respondPong();
    case command::MOUSE_BUTTON:
      buttons(payload[0], payload[1]);
      return respondPong();
    case command::MOUSE_WHEEL:
      wheel(static_cast<int8_t>(payload[1]));
      return respondPong();
    case command::POWER_BUTTON:
      if (!power(payload[0], nowMs)) return respond(response::INVALID_ERROR);
      return respondPong(powerPressed_ ? 1 : 0);
    case command::FIRMWARE_VERSION:
      return respond(pongCode(), FIRMWARE_MAJOR, FIRMWARE_MINOR, FIRMWARE_PATCH, config_.boardKind);
    default:
      // MOUSE_RELATIVE (the pointer is absolute only) and every command this board does not know.
      return respond(response::INVALID_ERROR);
  }
}

void ProtocolCore::respond(uint8_t code, uint8_t b2, uint8_t b3, uint8_t b4, uint8_t b5, bool remember) {
  uint8_t out[FRAME_LENGTH] = {RESPONSE_MAGIC, code, b2, b3, b4, b5, 0, 0};
  uint16_t crc = crc16(out, 6);
  out[6] = crc >> 8;
  out[7] = crc & 0xff;
  if (remember) {
    for (uint8_t i = 0; i < FRAME_LENGTH; i++) last_[i] = out[i];
    hasLast_ = true;
  }
  hw_.writeResponse(out);
}

void ProtocolCore::respondPong(uint8_t b4) { respond(pongCode(), OUTPUTS1, OUTPUTS2, b4); }

uint8_t ProtocolCore::pongCode() {
  uint8_t code = response::PONG;
  if (wasOnline_) {
    uint8_t leds = hw_.keyboardLeds();
    if (leds & usb_led::CAPS_LOCK) code |= pong_flag::CAPS_LOCK;
    if (leds & usb_led::SCROLL_LOCK) code |= pong_flag::SCROLL_LOCK;
    if (leds & usb_led::NUM_LOCK) code |= pong_flag::NUM_LOCK;
  } else {
    code |= pong_flag::KEYBOARD_OFFLINE | pong_flag::MOUSE_OFFLINE;
  }
  return code;
}

void ProtocolCore::key(uint8_t mcu, bool down) {
  uint8_t usage = usbUsageOfKey(mcu);
  if (usage == 0) return;  // a key byte with no key: ignored, as PiKVM's boards do
  uint8_t before[KEYBOARD_REPORT_LENGTH];
  for (uint8_t i = 0; i < KEYBOARD_REPORT_LENGTH; i++) before[i] = keyboard_[i];

  if (usage >= FIRST_MODIFIER_USAGE && usage <= LAST_MODIFIER_USAGE) {
    uint8_t bit = 1 << (usage - FIRST_MODIFIER_USAGE);
    keyboard_[0] = down ? (keyboard_[0] | bit) : (keyboard_[0] & ~bit);
  } else if (down) {
    uint8_t* slots = keyboard_ + 2;
    uint8_t i = 0;
    while (i < KEY_SLOTS && slots[i] != 0 && slots[i] != usage) i++;
    // A seventh key at once is dropped: the six held keys stay as they are.
    if (i < KEY_SLOTS) slots[i] = usage;
  } else {
    // Release: close the gap so the held keys stay in the order they went down.
    uint8_t* slots = keyboard_ + 2;
    uint8_t out = 0;
    for (uint8_t i = 0; i < KEY_SLOTS; i++)
      if (slots[i] != usage) slots[out++] = slots[i];
    while (out < KEY_SLOTS) slots[out++] = 0;
  }

  bool changed = false;
  for (uint8_t i = 0; i < KEYBOARD_REPORT_LENGTH; i++) changed = changed || before[i] != keyboard_[i];
  if (!changed) return;
  keyboardPending_ = true;
  if (!wasOnline_ && down) hw_.wakeHost();
  flushReports();
}

void ProtocolCore::releaseAll() {
  // Sent even when nothing is held, so a PC that missed a report sees every key up.
  for (uint8_t i = 0; i < KEYBOARD_REPORT_LENGTH; i++) keyboard_[i] = 0;
  pointer_[0] = 0;
  pointer_[5] = 0;
  keyboardPending_ = true;
  pointerPending_ = true;
  flushReports();
}

void ProtocolCore::moveTo(const uint8_t* payload) {
  // -32768..32767 on the line, 0..32767 in the USB report (the descriptor's logical range).
  uint16_t x = static_cast<uint16_t>(((static_cast<uint16_t>(payload[0]) << 8) | payload[1]) ^ 0x8000) >> 1;
  uint16_t y = static_cast<uint16_t>(((static_cast<uint16_t>(payload[2]) << 8) | payload[3]) ^ 0x8000) >> 1;
  uint8_t next[4] = {static_cast<uint8_t>(x & 0xff), static_cast<uint8_t>(x >> 8), static_cast<uint8_t>(y & 0xff),
                     static_cast<uint8_t>(y >> 8)};
  bool changed = false;
  for (uint8_t i = 0; i < 4; i++) {
    changed = changed || pointer_[1 + i] != next[i];
    pointer_[1 + i] = next[i];
  }
  if (!changed) return;
  pointerPending_ = true;
  flushReports();
}

void ProtocolCore::buttons(uint8_t main, uint8_t extra) {
  // select bit: which button the request is about; state bit: down or up. USB bits: left, right, middle,
  // back, forward.
  static const uint8_t MAIN_SELECT[3] = {0x80, 0x40, 0x20};
  static const uint8_t MAIN_STATE[3] = {0x08, 0x04, 0x02};
  uint8_t before = pointer_[0];
  for (uint8_t i = 0; i < 3; i++) {
    if (!(main & MAIN_SELECT[i])) continue;
    uint8_t bit = 1 << i;
    pointer_[0] = (main & MAIN_STATE[i]) ? (pointer_[0] | bit) : (pointer_[0] & ~bit);
  }
  for (uint8_t i = 0; i < 2; i++) {
    if (!(extra & MAIN_SELECT[i])) continue;
    uint8_t bit = 1 << (3 + i);
    pointer_[0] = (extra & MAIN_STATE[i]) ? (pointer_[0] | bit) : (pointer_[0] & ~bit);
  }
  if (pointer_[0] == before) return;
  pointerPending_ = true;
  flushReports();
}

void ProtocolCore::wheel(int8_t dy) {
  // The wheel is a movement, not a state: it goes out in one report and is not sent again.
  if (dy == 0 || !wasOnline_) return;
  pointer_[5] = static_cast<uint8_t>(dy);
  pointerPending_ = true;
  flushReports();
  pointer_[5] = 0;
}

bool ProtocolCore::power(uint8_t action, uint32_t nowMs) {
  switch (action) {
    case power_action::RELEASE:
      setPower(false);
      return true;
    case power_action::PRESS:
      setPower(true);
      powerTimed_ = false;
      return true;
    case power_action::SHORT_PRESS:
    case power_action::LONG_PRESS:
      setPower(true);
      powerTimed_ = true;
      powerStartMs_ = nowMs;
      powerDurationMs_ = action == power_action::SHORT_PRESS ? config_.shortPressMs : config_.longPressMs;
      return true;
    default:
      return false;
  }
}

void ProtocolCore::setPower(bool pressed) {
  if (!pressed) powerTimed_ = false;
  if (pressed == powerPressed_) return;
  powerPressed_ = pressed;
  hw_.setPowerButton(pressed);
}

void ProtocolCore::trackOnline() {
  bool online = hw_.usbOnline();
  // The PC came back (booted, woke up, re-enumerated): it knows nothing of what is held; tell it.
  if (online && !wasOnline_) keyboardPending_ = pointerPending_ = true;
  wasOnline_ = online;
}

void ProtocolCore::flushReports() {
  if (!wasOnline_) return;
  if (keyboardPending_ && hw_.sendKeyboardReport(keyboard_)) keyboardPending_ = false;
  if (pointerPending_ && hw_.sendPointerReport(pointer_)) pointerPending_ = false;
}

}  // namespace hil
