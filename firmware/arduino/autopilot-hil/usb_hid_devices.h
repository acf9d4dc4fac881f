// The board's USB side towards the PC under test: a boot keyboard (its own interface, boot subclass, no
// report id, so a PC's firmware setup screens can read it) and an absolute pointer (a second interface).
// Built on the core's PluggableUSB and HID.h's descriptor definitions; Debian packages no Keyboard or
// Mouse library, and the stock HID_ class is neither a boot device nor reads the LED report.
#ifndef AUTOPILOT_HIL_USB_HID_DEVICES_H
#define AUTOPILOT_HIL_USB_HID_DEVICES_H

#include <Arduino.h>
#include <HID.h>

#if !defined(_USING_HID)
#error "autopilot-hil needs a board with native USB (ATmega32U4: Leonardo, Pro Micro); select BOARD_TAG leonardo"
#endif

class BootKeyboard : public PluggableUSBModule {
 public:
  BootKeyboard();
  // Sends the 8-byte boot report; false when the PC did not take it.
  bool send(const uint8_t report[8]);
  // The PC's lock LEDs as its last output report set them (bit 0 Num, 1 Caps, 2 Scroll).
  uint8_t leds() const { return leds_; }

 protected:
  int getInterface(uint8_t* interfaceCount) override;
  int getDescriptor(USBSetup& setup) override;
  bool setup(USBSetup& setup) override;

 private:
  uint8_t endpointType_[1];
  volatile uint8_t leds_;
  uint8_t protocol_;
  uint8_t idle_;
  uint8_t report_[8];
};

class AbsolutePointer : public PluggableUSBModule {
 public:
  AbsolutePointer();
  // Sends the 6-byte report: buttons, x (LE, 0..32767), y, wheel.
  bool send(const uint8_t report[6]);

 protected:
  int getInterface(uint8_t* interfaceCount) override;
  int getDescriptor(USBSetup& setup) override;
  bool setup(USBSetup& setup) override;

 private:
  uint8_t endpointType_[1];
  uint8_t idle_;
  uint8_t report_[6];
};

#endif
