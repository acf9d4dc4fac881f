// The Arduino firmware's protocol core (../arduino/autopilot-hil/hid_protocol.cpp), built for the host with
// g++ and run on a real pseudo-terminal in place of the board's UART. The USB side is a stub that plays a
// minimal PC: it takes every report while "online", toggles its lock LEDs when Caps/Num/Scroll Lock go
// down (as a PC does), and logs what it received, one line each, so a test can check the HID usages.
//
//   core-on-pty /dev/pts/N [--short-press-ms N] [--long-press-ms N]
//   core-on-pty --keymap          prints "mcu usage" for every key byte, then exits
//
// Log lines on stdout: "ready", "keyboard <8 hex bytes>", "pointer <6 hex bytes>", "power pressed|released",
// "leds <hex>", "online 0|1", "wake", "response <8 hex bytes>". SIGUSR1 takes the PC offline (it stops
// reading the keyboard, as when it is off or rebooting), SIGUSR2 brings it back.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hid_protocol.h"

namespace {

volatile sig_atomic_t wantOnline = 1;
volatile sig_atomic_t stopRequested = 0;

void onSignal(int signal) {
  if (signal == SIGUSR1) wantOnline = 0;
  if (signal == SIGUSR2) wantOnline = 1;
  if (signal == SIGTERM || signal == SIGINT) stopRequested = 1;
}

uint32_t nowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint32_t>(ts.tv_sec * 1000ull + ts.tv_nsec / 1000000ull);
}

void logBytes(const char* what, const uint8_t* bytes, size_t length) {
  printf("%s", what);
  for (size_t i = 0; i < length; i++) printf(" %02x", bytes[i]);
  printf("\n");
  fflush(stdout);
}

bool holds(const uint8_t* report, uint8_t usage) {
  for (int i = 2; i < hil::KEYBOARD_REPORT_LENGTH; i++)
    if (report[i] == usage) return true;
  return false;
}

class StubHardware : public hil::HidHardware {
 public:
  explicit StubHardware(int fd) : fd_(fd), online_(true), leds_(0) { memset(lastKeyboard_, 0, sizeof(lastKeyboard_)); }

  // Called from the loop: the signal handlers only set a flag.
  void followSignals() {
    bool want = wantOnline != 0;
    if (want == online_) return;
    online_ = want;
    printf("online %d\n", online_ ? 1 : 0);
    fflush(stdout);
  }

  bool usbOnline() override { return online_; }
  uint8_t keyboardLeds() override { return leds_; }

  bool sendKeyboardReport(const uint8_t report[hil::KEYBOARD_REPORT_LENGTH]) override {
    if (!online_) return false;
    logBytes("keyboard", report, hil::KEYBOARD_REPORT_LENGTH);
    // A PC toggles a lock when its key goes down, and says so in the keyboard's LED report.
    const uint8_t locks[3][2] = {{0x39, hil::usb_led::CAPS_LOCK}, {0x53, hil::usb_led::NUM_LOCK}, {0x47, hil::usb_led::SCROLL_LOCK}};
    uint8_t leds = leds_;
    for (int i = 0; i < 3; i++)
      if (holds(report, locks[i][0]) && !holds(lastKeyboard_, locks[i][0])) leds ^= locks[i][1];
    memcpy(lastKeyboard_, report, sizeof(lastKeyboard_));
    if (leds != leds_) {
      leds_ = leds;
      printf("leds %02x\n", leds_);
      fflush(stdout);
    }
    return true;
  }

  bool sendPointerReport(const uint8_t report[hil::POINTER_REPORT_LENGTH]) override {
    if (!online_) return false;
    logBytes("pointer", report, hil::POINTER_REPORT_LENGTH);
    return true;
  }

  void wakeHost() override {
    printf("wake\n");
    fflush(stdout);
  }

  void setPowerButton(bool pressed) override {
    printf("power %s\n", pressed ? "pressed" : "released");
    fflush(stdout);
  }

  void writeResponse(const uint8_t frame[hil::FRAME_LENGTH]) override {
    logBytes("response", frame, hil::FRAME_LENGTH);
    size_t done = 0;
    while (done < hil::FRAME_LENGTH) {
      ssize_t n = write(fd_, frame + done, hil::FRAME_LENGTH - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        fprintf(stderr, "core-on-pty: writing the response failed: %s\n", strerror(errno));
        return;
      }
      done += static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
  bool online_;
  uint8_t leds_;
  uint8_t lastKeyboard_[hil::KEYBOARD_REPORT_LENGTH];
};

int usage(const char* why) {
  fprintf(stderr, "core-on-pty: %s\nusage: core-on-pty /dev/pts/N [--short-press-ms N] [--long-press-ms N]\n       core-on-pty --keymap\n", why);
  return 64;
}

bool parseMs(const char* text, uint16_t* out) {
  char* end = nullptr;
  long value = strtol(text, &end, 10);
  if (!text[0] || *end || value < 1 || value > 65535) return false;
  *out = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--keymap") == 0) {
    for (int mcu = 0; mcu <= 255; mcu++) {
      uint8_t usage = hil::usbUsageOfKey(static_cast<uint8_t>(mcu));
      if (usage) printf("%d 0x%02x\n", mcu, usage);
    }
    return 0;
  }
  if (argc < 2 || argv[1][0] == '-') return usage("name the pseudo-terminal to serve, e.g. /dev/pts/3");
  const char* path = argv[1];
  hil::CoreConfig config(hil::board_kind::HOST_TEST);
  for (int i = 2; i < argc; i++) {
    bool isShort = strcmp(argv[i], "--short-press-ms") == 0;
    bool isLong = strcmp(argv[i], "--long-press-ms") == 0;
    if (!isShort && !isLong) return usage("unknown option");
    if (i + 1 >= argc || !parseMs(argv[i + 1], isShort ? &config.shortPressMs : &config.longPressMs))
      return usage("a press length must be 1..65535 ms");
    i++;
  }

  int fd = open(path, O_RDWR | O_NOCTTY);
  if (fd < 0) {
    fprintf(stderr, "core-on-pty: cannot open %s: %s\n", path, strerror(errno));
    return 1;
  }
  struct termios tio;
  if (tcgetattr(fd, &tio) == 0) {
    cfmakeraw(&tio);
    tcsetattr(fd, TCSANOW, &tio);
  }

  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_handler = onSignal;
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGUSR2, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  StubHardware hardware(fd);
  hil::ProtocolCore core(hardware, config);
  printf("ready %s\n", path);
  fflush(stdout);

  while (!stopRequested) {
    hardware.followSignals();
    struct pollfd pfd = {fd, POLLIN, 0};
    int ready = poll(&pfd, 1, 1);
    if (ready < 0 && errno != EINTR) {
      fprintf(stderr, "core-on-pty: poll failed: %s\n", strerror(errno));
      return 1;
    }
    if (ready > 0 && (pfd.revents & POLLIN)) {
      uint8_t buffer[64];
      ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n < 0 && errno != EINTR && errno != EAGAIN) {
        fprintf(stderr, "core-on-pty: reading %s failed: %s\n", path, strerror(errno));
        return 1;
      }
      for (ssize_t i = 0; i < n; i++) core.receive(buffer[i], nowMs());
    } else if (ready > 0 && (pfd.revents & (POLLHUP | POLLERR))) {
      // The other end of the line went away: nothing more will come.
      printf("hangup\n");
      fflush(stdout);
      return 0;
    }
    core.poll(nowMs());
  }
  return 0;
}
