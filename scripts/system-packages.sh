#!/usr/bin/env bash
# Debian packages kbportal needs. `run`: what the portal uses (PDF thumbnails, fonts for
# CJK/Arabic text); `test` (default): also a browser and PostgreSQL for the test suite.
# Installs only what is missing; needs root (or passwordless sudo). Idempotent and fast
# when everything is present.
set -euo pipefail

# LibreOffice (DOCX -> PDF for co-branding; DOCX and PPTX -> PDF for first-page thumbnails:
# Writer and Impress) with Debian's python3-uno for the listener helper, and
# metric-compatible fonts for Office documents (Calibri/Cambria/Arial/Times).
PACKAGES=(poppler-utils fonts-noto-core fonts-noto-cjk
  libreoffice-writer-nogui libreoffice-impress-nogui python3-uno
  fonts-crosextra-carlito fonts-crosextra-caladea fonts-liberation2)
if [ "${1:-test}" = "test" ]; then
  PACKAGES+=(chromium chromium-driver postgresql)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "kbportal: missing Debian packages: ${missing[*]}" >&2
    echo "kbportal: run as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi
echo "kbportal: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
