#!/usr/bin/env bash
# Debian packages the test suite uses for real components. Installs what is
# missing when it can (root, or passwordless sudo); otherwise says what to install.
set -euo pipefail
declare -A need=(
  [curl]=curl                # end-to-end requests with --interface 127.0.0.N
  [prometheus]=prometheus    # a real Prometheus scrapes the proxy's metrics
  [chromium]=chromium        # Playwright drives Debian's Chromium for the dashboard tests
  [nft]=nftables             # the gateway tests apply real nftables rules in network namespaces
  [ip]=iproute2              # network namespaces for the gateway tests
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# A real PostgreSQL server for the department server's storage tests. Debian keeps
# initdb off PATH, in /usr/lib/postgresql/<version>/bin, so look there instead.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "tests need Debian packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
  exit 0  # the tests that need them fail with the same hint
fi
echo "Installing test dependencies: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
