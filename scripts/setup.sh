#!/usr/bin/env bash
# Set up live-attune on Debian/Ubuntu: system packages, a virtualenv in .venv, the package.
#   bash scripts/setup.sh          # to run it
#   bash scripts/setup.sh --test   # also what the tests need
# Everything comes from Debian's and PyPI's registries; nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libportaudio2 libasound2-plugins alsa-utils espeak-ng sox chromium fonts-dejavu-core)
extras=""
if [[ "${1:-}" == "--test" ]]; then
  extras="[test]"
  # the privacy tests watch every syscall of the real commands (tests/test_no_network.py)
  packages+=(strace)
  # the report tests render each PDF page to PNG (pdftoppm) to check it (tests/report)
  packages+=(poppler-utils)
  # the QR code printed by `live --lan` is decoded by a real reader (tests/server/test_qr.py)
  packages+=(zbar-tools)
  # the dashboard and report tests drive Debian's Chromium (installed above: PDF reports)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "live-attune needs Python 3.11 or newer ($python is $("$python" --version))" >&2
  exit 1
fi
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".${extras}"
# The one-microphone voice encoder's weights (live_attune/speakers/encoder.py): the PyPI
# package Resemblyzer, Apache-2.0 (its LICENSE is in the installed dist-info). --no-deps: it
# would bring torch, which live-attune never imports; the weights are read with numpy.
.venv/bin/python -m pip install -q --no-deps "Resemblyzer==0.1.4"
.venv/bin/python - <<'PY'
import hashlib, importlib.metadata, sys
from live_attune.speakers.encoder import DISTRIBUTION, WEIGHTS, WEIGHTS_SHA256
path = importlib.metadata.distribution(DISTRIBUTION).locate_file(WEIGHTS)
if hashlib.sha256(open(path, "rb").read()).hexdigest() != WEIGHTS_SHA256:
    sys.exit(f"{path}: not the pinned voice encoder weights (sha256 differs)")
PY
echo "live-attune is installed in .venv ($(.venv/bin/live-attune --version))"
