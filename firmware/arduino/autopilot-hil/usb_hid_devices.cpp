// USB descriptors and class requests of the boot keyboard and the absolute pointer (usb_hid_devices.h).
#include "usb_hid_devices.h"

namespace {

// The boot keyboard layout (HID 1.11 appendix B.1), with the key array's range widened to 0..0xFF so
// the international and F13..F24 keys of keymap.tsv fit. No report id: the same 8 bytes in boot and
// report protocol.
const uint8_t KEYBOARD_REPORT_DESCRIPTOR[] PROGMEM = {
    0x05, 0x01,        // Usage Page (Generic Desktop)
    0x09, 0x06,        // Usage (Keyboard)
    0xa1, 0x01,        // Collection (Application)
    0x05, 0x07,        //   Usage Page (Keyboard/Keypad)
    0x19, 0xe0,        //   Usage Minimum (Left Control)
    0x29, 0xe7,        //   Usage Maximum (Right GUI)
    0x15, 0x00,        //   Logical Minimum (0)
    0x25, 0x01,        //   Logical Maximum (1)
    0x75, 0x01,        //   Report Size (1)
    0x95, 0x08,        //   Report Count (8)
    0x81, 0x02,        //   Input (Data, Variable, Absolute): modifier bits
    0x95, 0x01,        //   Report Count (1)
    0x75, 0x08,        //   Report Size (8)
    0x81, 0x01,        //   Input (Constant): reserved byte
    0x05, 0x08,        //   Usage Page (LEDs)
    0x19, 0x01,        //   Usage Minimum (Num Lock)
    0x29, 0x05,        //   Usage Maximum (Kana)
    0x95, 0x05,        //   Report Count (5)
    0x75, 0x01,        //   Report Size (1)
    0x91, 0x02,        //   Output (Data, Variable, Absolute): LEDs
    0x95, 0x01,        //   Report Count (1)
    0x75, 0x03,        //   Report Size (3)
    0x91, 0x01,        //   Output (Constant): padding
    0x05, 0x07,        //   Usage Page (Keyboard/Keypad)
    0x19, 0x00,        //   Usage Minimum (0)
    0x2a, 0xff, 0x00,  //   Usage Maximum (255)
    0x15, 0x00,        //   Logical Minimum (0)
    0x26, 0xff, 0x00,  //   Logical Maximum (255)
    0x95, 0x06,        //   Report Count (6)
    0x75, 0x08,        //   Report Size (8)
    0x81, 0x00,        //   Input (Data, Array): six key slots
    0xc0,              // End Collection
};

// A mouse with absolute X/Y in 0..32767 (what Windows maps onto the whole screen), five buttons and a
// wheel. Absolute pointers have no boot protocol; firmware setup screens use the keyboard.
const uint8_t POINTER_REPORT_DESCRIPTOR[] PROGMEM = {
    0x05, 0x01,        // Usage Page (Generic Desktop)
    0x09, 0x02,        // Usage (Mouse)
    0xa1, 0x01,        // Collection (Application)
    0x09, 0x01,        //   Usage (Pointer)
    0xa1, 0x00,        //   Collection (Physical)
    0x05, 0x09,        //     Usage Page (Button)
    0x19, 0x01,        //     Usage Minimum (1)
    0x29, 0x05,        //     Usage Maximum (5)
    0x15, 0x00,        //     Logical Minimum (0)
    0x25, 0x01,        //     Logical Maximum (1)
    0x95, 0x05,        //     Report Count (5)
    0x75, 0x01,        //     Report Size (1)
    0x81, 0x02,        //     Input (Data, Variable, Absolute): buttons
    0x95, 0x01,        //     Report Count (1)
    0x75, 0x03,        //     Report Size (3)
    0x81, 0x01,        //     Input (Constant): padding
    0x05, 0x01,        //     Usage Page (Generic Desktop)
    0x09, 0x30,        //     Usage (X)
    0x09, 0x31,        //     Usage (Y)
    0x15, 0x00,        //     Logical Minimum (0)
    0x26, 0xff, 0x7f,  //     Logical Maximum (32767)
    0x75, 0x10,        //     Report Size (16)
    0x95, 0x02,        //     Report Count (2)
    0x81, 0x02,        //     Input (Data, Variable, Absolute): X, Y
    0x09, 0x38,        //     Usage (Wheel)
    0x15, 0x81,        //     Logical Minimum (-127)
    0x25, 0x7f,        //     Logical Maximum (127)
    0x75, 0x08,        //     Report Size (8)
    0x95, 0x01,        //     Report Count (1)
    0x81, 0x06,        //     Input (Data, Variable, Relative): wheel
    0xc0,              //   End Collection
    0xc0,              // End Collection
};

const uint8_t REPORT_PACKET_SIZE = 8;
const uint8_t POLL_INTERVAL_MS = 1;

int sendInterface(uint8_t interfaceNumber, uint8_t endpoint, uint8_t subclass, uint8_t protocol,
                  uint16_t reportDescriptorLength) {
  HIDDescriptor descriptor = {
      D_INTERFACE(interfaceNumber, 1, USB_DEVICE_CLASS_HUMAN_INTERFACE, subclass, protocol),
      D_HIDREPORT(reportDescriptorLength),
      D_ENDPOINT(USB_ENDPOINT_IN(endpoint), USB_ENDPOINT_TYPE_INTERRUPT, REPORT_PACKET_SIZE, POLL_INTERVAL_MS),
  };
  return USB_SendControl(0, &descriptor, sizeof(descriptor));
}

// GET_DESCRIPTOR for an interface: the report descriptor, or the 9-byte HID descriptor that a few
// firmware setups ask for on its own. 0 when the request is not for this interface.
int sendClassDescriptor(USBSetup& setup, uint8_t interfaceNumber, const uint8_t* reportDescriptor,
                        uint16_t length) {
  if (setup.bmRequestType != REQUEST_DEVICETOHOST_STANDARD_INTERFACE) return 0;
  if (setup.wIndex != interfaceNumber) return 0;
  if (setup.wValueH == HID_REPORT_DESCRIPTOR_TYPE) return USB_SendControl(TRANSFER_PGM, reportDescriptor, length);
  if (setup.wValueH == HID_HID_DESCRIPTOR_TYPE) {
    HIDDescDescriptor hid = D_HIDREPORT(length);
    return USB_SendControl(0, &hid, sizeof(hid));
  }
  return 0;
}

// Queues a report on an interrupt endpoint without waiting: when the PC is not polling the endpoint its
// banks are full, and waiting would stall the serial line; the core sends the report again later.
bool sendReport(uint8_t endpoint, const uint8_t* report, uint8_t length) {
  if (!USBDevice.configured()) return false;
  if (USB_SendSpace(endpoint) < length) return false;
  return USB_Send(endpoint | TRANSFER_RELEASE, report, length) == length;
}

}  // namespace

BootKeyboard::BootKeyboard()
    : PluggableUSBModule(1, 1, endpointType_), leds_(0), protocol_(HID_REPORT_PROTOCOL), idle_(0) {
  endpointType_[0] = EP_TYPE_INTERRUPT_IN;
  for (uint8_t i = 0; i < sizeof(report_); i++) report_[i] = 0;
  PluggableUSB().plug(this);
}

bool BootKeyboard::send(const uint8_t report[8]) {
  for (uint8_t i = 0; i < sizeof(report_); i++) report_[i] = report[i];
  return sendReport(pluggedEndpoint, report_, sizeof(report_));
}

int BootKeyboard::getInterface(uint8_t* interfaceCount) {
  *interfaceCount += 1;
  return sendInterface(pluggedInterface, pluggedEndpoint, HID_SUBCLASS_BOOT_INTERFACE, HID_PROTOCOL_KEYBOARD,
                       sizeof(KEYBOARD_REPORT_DESCRIPTOR));
}

int BootKeyboard::getDescriptor(USBSetup& setup) {
  int sent = sendClassDescriptor(setup, pluggedInterface, KEYBOARD_REPORT_DESCRIPTOR, sizeof(KEYBOARD_REPORT_DESCRIPTOR));
  // A host that reads the report descriptor uses report protocol unless it says otherwise.
  if (sent > 0 && setup.wValueH == HID_REPORT_DESCRIPTOR_TYPE) protocol_ = HID_REPORT_PROTOCOL;
  return sent;
}

bool BootKeyboard::setup(USBSetup& setup) {
  if (setup.wIndex != pluggedInterface) return false;
  if (setup.bmRequestType == REQUEST_DEVICETOHOST_CLASS_INTERFACE) {
    if (setup.bRequest == HID_GET_REPORT) return USB_SendControl(0, report_, sizeof(report_)) >= 0;
    if (setup.bRequest == HID_GET_PROTOCOL) return USB_SendControl(0, &protocol_, 1) >= 0;
    if (setup.bRequest == HID_GET_IDLE) return USB_SendControl(0, &idle_, 1) >= 0;
    return false;
  }
  if (setup.bmRequestType == REQUEST_HOSTTODEVICE_CLASS_INTERFACE) {
    if (setup.bRequest == HID_SET_PROTOCOL) {
      protocol_ = setup.wValueL;  // the same report serves both protocols
      return true;
    }
    if (setup.bRequest == HID_SET_IDLE) {
      idle_ = setup.wValueH;  // reports go out on change only; the rate is noted for GET_IDLE
      return true;
    }
    if (setup.bRequest == HID_SET_REPORT && setup.wValueH == HID_REPORT_TYPE_OUTPUT && setup.wLength >= 1) {
      // The LED byte; a longer report (none is declared) would carry it last.
      uint8_t data[2] = {0, 0};
      uint8_t length = setup.wLength > 2 ? 2 : setup.wLength;
      USB_RecvControl(data, length);
      leds_ = data[length - 1];
      return true;
    }
  }
  return false;
}

AbsolutePointer::AbsolutePointer() : PluggableUSBModule(1, 1, endpointType_), idle_(0) {
  endpointType_[0] = EP_TYPE_INTERRUPT_IN;
  for (uint8_t i = 0; i < sizeof(report_); i++) report_[i] = 0;
  PluggableUSB().plug(this);
}

bool AbsolutePointer::send(const uint8_t report[6]) {
  for (uint8_t i = 0; i < sizeof(report_); i++) report_[i] = report[i];
  return sendReport(pluggedEndpoint, report_, sizeof(report_));
}

int AbsolutePointer::getInterface(uint8_t* interfaceCount) {
  *interfaceCount += 1;
  return sendInterface(pluggedInterface, pluggedEndpoint, HID_SUBCLASS_NONE, HID_PROTOCOL_NONE,
                       sizeof(POINTER_REPORT_DESCRIPTOR));
}

int AbsolutePointer::getDescriptor(USBSetup& setup) {
  return sendClassDescriptor(setup, pluggedInterface, POINTER_REPORT_DESCRIPTOR, sizeof(POINTER_REPORT_DESCRIPTOR));
}

bool AbsolutePointer::setup(USBSetup& setup) {
  if (setup.wIndex != pluggedInterface) return false;
  if (setup.bmRequestType == REQUEST_DEVICETOHOST_CLASS_INTERFACE) {
    if (setup.bRequest == HID_GET_REPORT) return USB_SendControl(0, report_, sizeof(report_)) >= 0;
    if (setup.bRequest == HID_GET_IDLE) return USB_SendControl(0, &idle_, 1) >= 0;
    return false;
  }
  if (setup.bmRequestType == REQUEST_HOSTTODEVICE_CLASS_INTERFACE) {
    if (setup.bRequest == HID_SET_IDLE) {
      idle_ = setup.wValueH;
      return true;
    }
    if (setup.bRequest == HID_SET_PROTOCOL) return true;
  }
  return false;
}
