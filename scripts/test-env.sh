#!/usr/bin/env bash
# What the tests need, on a fresh machine with Python >= 3.10: chromium (the
# HTML report is tested in a real headless browser) and .venv with torch's CPU
# build and the dev extra. The README's test command and CI (.ci/run) run it,
# then the same pytest command.
#
#   scripts/test-env.sh           build .venv if it is missing
#   scripts/test-env.sh --fresh   rebuild .venv from scratch (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  sudo=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo="sudo"; fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

if [ "${1:-}" = "--fresh" ]; then rm -rf .venv; fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  # torch first, pinned, so that the llm extra (part of dev) finds the CPU
  # build installed and never resolves a CUDA one.
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -e '.[dev]'
fi
