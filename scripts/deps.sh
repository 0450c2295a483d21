#!/usr/bin/env bash
# deps.sh — the Debian packages mxcache needs.
#
#   scripts/deps.sh           install what the build, the tests, the demo and
#                             the benchmark need, when some are missing
#   scripts/deps.sh --check   only check the build dependencies; name the
#                             missing packages and exit 1 (what `make` runs)
#
# Cheap when everything is there: one dpkg-query call. Installing never
# starts, stops or reconfigures a service: packages such as nsd and unbound
# come with a system service, which is kept from starting at install time
# (the tests run their own servers in a network namespace of their own).
set -euo pipefail

BUILD_PACKAGES=(
	build-essential pkg-config
	libunbound-dev libev-dev libjansson-dev libpsl-dev publicsuffix
	libhiredis-dev libssl-dev # the shared tier (--redis): client and HMAC
)
PACKAGES=(
	"${BUILD_PACKAGES[@]}" libcmocka-dev
	nsd ldnsutils unbound dns-root-data
	python3 python3-pytest python3-dnspython python3-spf
	bind9-dnsutils knot-dnsutils iproute2 util-linux procps valgrind
	mandoc                   # make lint, tests/integration/test_manpages.py
	clang libclang-rt-14-dev # make fuzz: libFuzzer and the sanitizer runtimes
	dnsperf gnuplot-nox      # bench/compare.sh
	redis-server             # tests/integration/test_l2.py, make demo, compare.sh --fleet
)

missing_of() {
	local p status
	for p in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		[[ $status == "install ok installed" ]] || printf '%s\n' "$p"
	done
}

if [[ ${1:-} == --check ]]; then
	mapfile -t missing < <(missing_of "${BUILD_PACKAGES[@]}")
	((${#missing[@]} == 0)) && exit 0
	cat >&2 <<MSG
mxcache: missing build dependencies: ${missing[*]}
  install them with:  make deps   (or: sudo apt-get install ${missing[*]})
MSG
	exit 1
fi

mapfile -t missing < <(missing_of "${PACKAGES[@]}")
((${#missing[@]} == 0)) && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Debian starts a package's service on installation unless policy-rc.d says
# no: the host's port 53 is not ours to take. Only when no policy exists.
POLICY=/usr/sbin/policy-rc.d
if [[ ! -e $POLICY ]]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
	$SUDO chmod 0755 "$POLICY"
	trap '$SUDO rm -f "$POLICY"' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
