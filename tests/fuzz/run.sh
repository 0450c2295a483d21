#!/usr/bin/env bash
# run.sh — runs the libFuzzer harnesses built by `make fuzz` (see the Makefile).
#
#   tests/fuzz/run.sh fuzz BUILD SECONDS NAME...   fuzz each harness for SECONDS
#   tests/fuzz/run.sh replay BUILD NAME...         run the checked-in corpus and
#                                                   the regression inputs once
#
# BUILD is the directory holding fuzz_NAME. Fuzzing starts from copies of
# tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME in BUILD/work/NAME
# (the checked-in corpus never grows); what it finds (crash-*, leak-*,
# timeout-*) lands in BUILD/artifacts/NAME/; tests/fuzz/NAME.dict, if there,
# is the harness's dictionary. Every harness runs even when
# an earlier one failed; the exit status is non-zero if any failed.
# Extra libFuzzer flags: FUZZ_ARGS="-max_len=8192 ...".
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)

usage() {
	echo "usage: $0 fuzz BUILD SECONDS NAME... | replay BUILD NAME..." >&2
	exit 2
}

# Every regular file of the corpus and regression directories of $1.
inputs() {
	local d
	for d in "$HERE/corpus/$1" "$HERE/regressions/$1"; do
		[[ -d $d ]] && find "$d" -type f ! -name '.*' ! -name '*.md'
	done | sort
}

# replay NAME LOG FILE...: runs the inputs once, output appended to LOG.
replay() {
	local name=$1 log=$2
	shift 2
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
	"$build/fuzz_$name" -timeout=10 ${FUZZ_ARGS:-} "$@" >>"$log" 2>&1
}

[[ $# -ge 3 ]] || usage
mode=$1 build=$2
shift 2
failed=()

case $mode in
fuzz)
	seconds=$1
	shift
	[[ $# -ge 1 ]] || usage
	for name in "$@"; do
		work=$build/work/$name art=$build/artifacts/$name
		rm -rf "$work"
		mkdir -p "$work" "$art"
		inputs "$name" | while read -r f; do cp "$f" "$work/"; done
		echo "== fuzz_$name: ${seconds}s from $(find "$work" -type f | wc -l) inputs"
		dict=()
		[[ -f $HERE/$name.dict ]] && dict=(-dict="$HERE/$name.dict")
		# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
		if ! "$build/fuzz_$name" -max_total_time="$seconds" -timeout=10 "${dict[@]}" \
			-print_final_stats=1 -artifact_prefix="$art/" ${FUZZ_ARGS:-} "$work"; then
			echo "== fuzz_$name FAILED (reproducer in $art/)" >&2
			failed+=("$name")
		fi
	done
	;;
replay)
	# Files, not directories: each runs once, nothing is fuzzed or written.
	# The corpus in one run; each regression input on its own, so every
	# one that still fails is named.
	for name in "$@"; do
		log=$build/replay-$name.log
		: >"$log"
		mapfile -t seeds < <(find "$HERE/corpus/$name" -type f 2>/dev/null | sort)
		mapfile -t regs < <(find "$HERE/regressions/$name" -type f ! -name '*.md' 2>/dev/null | sort)
		echo "== fuzz_$name: ${#seeds[@]} corpus inputs, ${#regs[@]} regression inputs"
		if [[ ${#seeds[@]} -gt 0 ]] && ! replay "$name" "$log" "${seeds[@]}"; then
			echo "== fuzz_$name FAILED on its corpus (log: $log)" >&2
			failed+=("$name:corpus")
		fi
		for f in "${regs[@]}"; do
			if ! replay "$name" "$log" "$f"; then
				echo "== fuzz_$name FAILED on regressions/$name/${f##*/} (log: $log)" >&2
				failed+=("$name:${f##*/}")
			fi
		done
	done
	;;
*)
	usage
	;;
esac

if [[ ${#failed[@]} -gt 0 ]]; then
	echo "fuzz: failed: ${failed[*]}" >&2
	exit 1
fi
