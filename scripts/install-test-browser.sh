#!/usr/bin/env bash
# Install the browser that tests/test_study_browser.py drives: Debian's Chromium at
# /usr/bin/chromium (Playwright's own browser download is not used).
#
# Idempotent: does nothing when the browser is already there. As root it runs
# `apt-get update && apt-get install -y chromium`; otherwise it prints the command
# to run and exits 0, and the browser test then says why it skipped (or fails, when
# CONCEPTLAB_REQUIRE_BROWSER=1).
#
# Environment: CONCEPTLAB_CHROMIUM overrides the browser's path (default /usr/bin/chromium).
set -euo pipefail

chromium="${CONCEPTLAB_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$chromium" ]; then
    exit 0
fi

if [ "$(id -u)" != "0" ]; then
    echo "install-test-browser: no Chromium at $chromium, and not root, so not installing it." >&2
    echo "install-test-browser: run 'sudo apt-get update && sudo apt-get install -y chromium' to run the browser test." >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-browser: no Chromium at $chromium and no apt-get on this machine;" \
         "install Chromium so that $chromium runs it." >&2
    exit 0
fi

echo "install-test-browser: installing Debian's chromium (apt-get) for the browser test" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

if [ ! -x "$chromium" ]; then
    echo "install-test-browser: apt-get installed chromium, but $chromium is still missing" >&2
    exit 1
fi
