#!/usr/bin/env bash
# `npm run firmware`: builds everything under firmware/ into firmware/build/, so that a broken sketch fails CI.
#   build/core-on-pty         the Arduino protocol core for this machine (g++), for the tests
#   build/autopilot-hil.hex   the ATmega32U4 firmware (Debian's arduino-mk, gcc-avr, avr-libc, arduino-core-avr)
# and checks that the Pico's Python files compile.
# Usage: firmware/build.sh [--host-only]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
mkdir -p build

echo "firmware: host build of the protocol core -> firmware/build/core-on-pty"
make -s -C host-test

echo "firmware: checking the Pico's Python files"
python3 - pico/code.py pico/boot.py pico/hid_protocol.py <<'PY'
import sys
for path in sys.argv[1:]:
    compile(open(path, encoding='utf-8').read(), path, 'exec')
PY

if [ "${1:-}" = "--host-only" ]; then exit 0; fi

missing=()
command -v avr-gcc >/dev/null 2>&1 || missing+=("avr-gcc (package gcc-avr)")
[ -f /usr/lib/avr/include/avr/io.h ] || missing+=("avr-libc")
[ -d /usr/share/arduino/hardware/arduino/avr/cores/arduino ] || missing+=("the Arduino AVR core (package arduino-core-avr)")
[ -f /usr/share/arduino/Arduino.mk ] || missing+=("Arduino.mk (package arduino-mk)")
if ((${#missing[@]})); then
  {
    echo "firmware: cannot build the Arduino firmware, missing:"
    printf '  - %s\n' "${missing[@]}"
    echo "Install them with: sudo apt-get install gcc-avr avr-libc arduino-core-avr arduino-mk"
  } >&2
  exit 1
fi

echo "firmware: ATmega32U4 sketch -> firmware/build/autopilot-hil.hex"
if ! make -C arduino > build/arduino-make.log 2>&1; then
  cat build/arduino-make.log >&2
  echo "firmware: building the Arduino sketch failed (make -C firmware/arduino; log above)" >&2
  exit 1
fi
cp build/arduino/autopilot-hil.hex build/autopilot-hil.hex
avr-size --mcu=atmega32u4 -C --format=avr build/arduino/autopilot-hil.elf | grep -E 'Program|Data'
