#!/usr/bin/env bash
# Builds a Debian sid root holding Asterisk 22 (the host's Debian has no asterisk package and
# sid's binaries need a newer libc), in an ignored folder of the checkout.
# Idempotent: skipped when the root already has a working usr/sbin/asterisk.
set -euo pipefail

ROOT="${HOTLINE_ASTERISK_ROOT:-$(cd "$(dirname "$0")/.." && pwd)/var/asterisk-root}"
APT_OPTS=(-o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0)

if [ -x "$ROOT/usr/sbin/asterisk" ] && chroot "$ROOT" /usr/sbin/asterisk -V >/dev/null 2>&1; then
  echo "asterisk root: present at $ROOT ($(chroot "$ROOT" /usr/sbin/asterisk -V))"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap missing: run scripts/install-system.sh" >&2; exit 1; }

source "$(dirname "$0")/lib.sh"
echo "asterisk root: building in $ROOT (about a minute)"
rm -rf "$ROOT.partial"
mkdir -p "$(dirname "$ROOT")"
step "asterisk root: debootstrap Debian sid" debootstrap --variant=minbase sid "$ROOT.partial"
# The mirror here is a snapshot whose Release file reads as expired.
step "asterisk root: apt-get update" chroot "$ROOT.partial" apt-get "${APT_OPTS[@]}" update -qq
step "asterisk root: installing Asterisk 22" env DEBIAN_FRONTEND=noninteractive chroot "$ROOT.partial" \
  apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends \
  asterisk asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm
chroot "$ROOT.partial" apt-get clean
rm -rf "$ROOT"
mv "$ROOT.partial" "$ROOT"
echo "asterisk root: ready ($(chroot "$ROOT" /usr/sbin/asterisk -V))"
