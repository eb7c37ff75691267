#!/usr/bin/env bash
# Build tools that `pip install` needs on a fresh Debian machine: pdqhash (Meta's
# PDQ image hash) is compiled from source, so a C++ compiler must be present.
# Installs g++ when it can (root, or passwordless sudo); otherwise says what to do.
set -euo pipefail
command -v c++ >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "schoolgate needs a C++ compiler to build pdqhash: run 'sudo apt-get install g++', then make again." >&2
  exit 1
fi
echo "Installing a C++ compiler (g++) to build pdqhash"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends g++ >/dev/null
