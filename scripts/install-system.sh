#!/usr/bin/env bash
# Installs the Debian packages the hotline needs on the host, only those that are missing.
# Idempotent: a second run installs nothing and takes a second.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PACKAGES=(
  debootstrap      # builds the Asterisk 22 root (Debian sid) beside the host
  sip-tester       # SIPp: real SIP callers and agents for tests, demo and benchmarks
  redis-server     # live state shared by controllers
  espeak-ng        # placeholder IVR prompts in every language
  sox ffmpeg       # audio conversion behind pydub
  iproute2         # network namespaces: tests that need a second host (the carrier, an intruder)
  python3-venv
  baresip-core     # a real softphone: registers as an agent in tests (digest auth, audio from a file)
  chromium         # the desk page's browser tests (Playwright drives it; no browser download)
  fonts-wqy-microhei  # a small CJK font: the desk's screenshots show Chinese, not boxes
  fonts-wqy-zenhei    # CJK font for the reports' PNG charts (hotline/reports/charts.py)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
step "system packages: apt-get update" apt-get update -qq
step "system packages: installing ${missing[*]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
