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
echo "live-attune is installed in .venv ($(.venv/bin/live-attune --version))"
