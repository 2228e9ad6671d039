#!/usr/bin/env bash
# The test command of the README and of CI (.ci/run): on a fresh machine with
# Python >= 3.10, install what the tests need and run them.
#
#   scripts/test.sh              build .venv if missing, then run pytest
#   scripts/test.sh --fresh      rebuild .venv from scratch first (CI)
#   scripts/test.sh -- -k html   arguments after -- go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

fresh=0
if [ "${1:-}" = "--fresh" ]; then fresh=1; shift; fi
if [ "${1:-}" = "--" ]; then shift; fi

# tests/test_html.py loads the HTML report in a real headless browser.
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  sudo=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo="sudo"; fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

if [ "$fresh" = 1 ]; then rm -rf .venv; fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  # torch first, pinned, so that the llm extra (part of dev) finds the CPU
  # build installed and never resolves a CUDA one.
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -e '.[dev]'
fi
exec .venv/bin/python -m pytest "$@"
