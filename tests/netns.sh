#!/usr/bin/env bash
# netns.sh COMMAND [ARG...] — runs COMMAND in a network namespace of its
# own, loopback up, and returns its status.
#
# The tests and the demo start NSD on port 53 of 127.0.0.2-5, daemons on
# loopback ports, and network namespaces of their own: inside a private
# namespace none of that can meet what the host runs (an NSD or Unbound on
# port 53, a mail server), and the host never sees it. Needs root (or
# CAP_SYS_ADMIN). Already inside one (MXTEST_NETNS=1): runs COMMAND as is.
set -euo pipefail
if [[ ${MXTEST_NETNS:-} == 1 ]]; then
	exec "$@"
fi
exec unshare --net -- env MXTEST_NETNS=1 bash -c 'ip link set lo up && exec "$@"' netns "$@"
