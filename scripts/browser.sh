#!/usr/bin/env bash
# Install the browser the dashboard's end-to-end tests drive: Debian's Chromium, from apt.
# Playwright never downloads a browser of its own (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
set -u

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "browser: installing chromium (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null || true
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "browser: /usr/bin/chromium could not be installed; tests/web will be skipped" >&2
fi
exit 0
