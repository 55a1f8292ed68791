#!/usr/bin/env bash
# What the browser tier needs: Debian's chromium (/usr/bin/chromium) and npm's playwright-core in
# tests/browser/node_modules (it drives the system browser; no browser download). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "browser tier: chromium is not installed (apt-get install chromium as root)" >&2
    exit 1
  fi
  echo "browser tier: installing Debian's chromium" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -f "$root/tests/browser/node_modules/playwright-core/package.json" ]; then
  (cd "$root/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
