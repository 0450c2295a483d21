#!/usr/bin/env bash
# Installs the Debian packages mxcache needs to build and test, when some
# are missing. Cheap when everything is there: one dpkg-query call.
set -euo pipefail

PACKAGES=(
	build-essential pkg-config
	libunbound-dev libev-dev libjansson-dev libcmocka-dev libpsl-dev publicsuffix
	nsd ldnsutils unbound dns-root-data
	python3 python3-pytest python3-dnspython
	bind9-dnsutils knot-dnsutils iproute2 procps valgrind
	clang libclang-rt-14-dev # make fuzz: libFuzzer and the sanitizer runtimes
	dnsperf gnuplot-nox      # bench/compare.sh
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
# The nsd and unbound packages may start system servers on port 53; the
# tests run their own, on addresses those would hold.
for svc in nsd unbound; do
	if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
		$SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
	elif [[ -x /etc/init.d/$svc ]] && /etc/init.d/"$svc" status >/dev/null 2>&1; then
		$SUDO /etc/init.d/"$svc" stop >/dev/null 2>&1 || true
	fi
done
