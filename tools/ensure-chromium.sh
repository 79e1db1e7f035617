#!/bin/sh
# Make sure the browser and tools the test suite needs are installed:
#   chromium            browser journeys (Playwright drives /usr/bin/chromium;
#                       `playwright install` cannot download browsers here)
#   fonts-wqy-microhei  Chinese glyphs in the PDF reports
#   poppler-utils       pdftoppm, to turn report PDFs into images in tests
# Idempotent: when everything is present it changes nothing and says so.
# Prints one line saying what it did; exits non-zero with a readable message
# when it cannot install.
set -u

CHROMIUM=/usr/bin/chromium
PACKAGES="chromium fonts-wqy-microhei poppler-utils"

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done
missing="${missing# }"

if [ -z "$missing" ] && [ -x "$CHROMIUM" ]; then
    echo "ensure-chromium: already installed ($PACKAGES)"
    exit 0
fi
# chromium is a package name and the binary path; reinstall it if the binary vanished.
if [ ! -x "$CHROMIUM" ]; then
    case " $missing " in
        *" chromium "*) ;;
        *) missing="chromium${missing:+ $missing}" ;;
    esac
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "ensure-chromium: cannot install $missing: not root and no password-less sudo;" \
            "run: apt-get install -y $missing" >&2
        exit 1
    fi
else
    SUDO=""
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: cannot install $missing: apt-get not found (not a Debian system?)" >&2
    exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
# Word splitting of $SUDO and $missing is intended: both are lists of words.
# shellcheck disable=SC2086
if ! $SUDO apt-get update -qq >"$log" 2>&1; then
    echo "ensure-chromium: apt-get update failed:" >&2
    tail -n 5 "$log" >&2
    exit 1
fi
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y -qq $missing >"$log" 2>&1; then
    echo "ensure-chromium: apt-get install $missing failed:" >&2
    tail -n 5 "$log" >&2
    exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-chromium: installed $missing but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "ensure-chromium: installed $missing"
