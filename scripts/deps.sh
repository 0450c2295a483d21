#!/usr/bin/env bash
# Installs the Debian packages mxcache needs to build and test, when some
# are missing. Cheap when everything is there: one dpkg-query call.
set -euo pipefail

PACKAGES=(
	build-essential pkg-config
	libunbound-dev libev-dev libjansson-dev libcmocka-dev
	nsd ldnsutils unbound dns-root-data
	python3 python3-pytest python3-dnspython
	bind9-dnsutils knot-dnsutils
	clang libclang-rt-14-dev # make fuzz: libFuzzer and the sanitizer runtimes
)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The unbound package starts a system resolver on port 53 of 127.0.0.1,
# which the tests do not want; it is only here as a reference binary.
if command -v systemctl >/dev/null && systemctl is-active --quiet unbound 2>/dev/null; then
	$SUDO systemctl disable --now unbound >/dev/null 2>&1 || true
fi
