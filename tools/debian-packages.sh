#!/usr/bin/env bash
# The Debian packages `npm test` needs (firmware toolchains and googletest, mosquitto, socat,
# chromium), checked before every `npm test` (package.json "pretest") and by .ci/run: one list, one
# step. Missing ones are installed with apt-get when run as root; otherwise it stops at once and
# prints the exact apt-get line to run. Without dpkg (not Debian) it only says what the tests need.
set -euo pipefail

apt_packages=(
  # firmware: host tests (googletest + ctest), UNO build, ESP8266 portability check, host crypto
  cmake g++ libgtest-dev libgmock-dev libsecp256k1-dev
  gcc-avr avr-libc binutils-avr arduino-core-avr arduino-builder arduino-ctags
  gcc-xtensa-lx106 binutils-xtensa-lx106
  # MQTT broker for tests against an external broker; serial pty pairs
  mosquitto mosquitto-clients socat
  # UI end-to-end tests
  chromium
)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "debian-packages: no dpkg here; the firmware, broker and browser tests need the equivalents of: ${apt_packages[*]}" >&2
  exit 0
fi

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "debian-packages: npm test needs ${#missing[@]} Debian package(s) that are not installed. Run:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    echo "then npm test again (as root, npm test installs them itself)." >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "debian-packages: installing ${missing[*]}" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

  # Debian starts a freshly installed mosquitto as a service; the tests start their own on free
  # ports, so the service only takes 1883 from a developer's own broker: stop what we started.
  if [[ " ${missing[*]} " == *" mosquitto "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl stop mosquitto >/dev/null 2>&1 || true
  fi
fi
