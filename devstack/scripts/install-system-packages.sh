#!/usr/bin/env bash
# Installs the Debian packages devstack runs as plain processes (never as
# system services) and the toolchains its provisioning needs. Idempotent: it
# only calls apt-get when a package is missing.
set -euo pipefail

# curl: the README talks to the gateway with it, and a minimal Debian lacks it.
# gcc, libc6-dev: the real node's pause image is a static C binary (devstack up node).
# chromium: headless, it screenshots the trace report's HTML (`make trace-report`).
PACKAGES=(redis-server nginx-light prometheus wrk openjdk-17-jre-headless maven golang-go procps iproute2 ca-certificates curl gcc libc6-dev chromium)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# A toolchain may come from outside Debian (the machine image's Go, Java);
# then the package is not needed.
filtered=()
for pkg in "${missing[@]}"; do
  case "$pkg" in
    golang-go) command -v go >/dev/null || filtered+=("$pkg") ;;
    openjdk-17-jre-headless) command -v java >/dev/null || filtered+=("$pkg") ;;
    maven) command -v mvn >/dev/null || filtered+=("$pkg") ;;
    *) filtered+=("$pkg") ;;
  esac
done

if [ ${#filtered[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Debian starts a package's daemon on install; devstack runs its own copies on
# its own ports, so forbid service starts for the duration of the install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && $SUDO rm -f "$policy"' EXIT

echo "devstack: installing Debian packages: ${filtered[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
