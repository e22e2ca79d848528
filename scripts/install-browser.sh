#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the browser tests
# (`cargo test --test browser -- --ignored`). Assumes apt-get and root, as on
# the CI machine; elsewhere it says why it cannot and exits 0 so the browser
# tests skip with their own message.
set -euo pipefail
if command -v chromedriver >/dev/null && command -v chromium >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install-browser: no apt-get here; browser tests will skip" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
        echo "install-browser: not root and no sudo; browser tests will skip" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium chromium-driver
