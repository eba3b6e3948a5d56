#!/usr/bin/env bash
# Instructions per saga, counted by valgrind's callgrind, of the sync and async sagas of
# the criterion benches (benches/sync.rs, benches/async.rs) and of their hand-written
# baselines, and the ratio of the two: figures that hold on a shared, noisy machine,
# where criterion's medians move by 20-50 % between runs. A count is repeatable for the
# same binary and inputs; it weighs every instruction alike, so it does not see cache
# misses, branch mispredictions or the cost of a division against an add.
#
# Method: `paths CASE VARIANT N` (bench/src/bin/paths.rs) runs N sagas of one case, and
# callgrind counts the whole process. Each variant is run twice, with N and 2N
# iterations: the two processes do the same start-up, runtime set-up and first-call
# work (lazy thread-locals, the allocator's first chunk) and the same exit, so
#     instructions per saga = (count(2N) - count(N)) / N
# is the loop alone. This is preferred to `--toggle-collect` on the measuring function:
# it needs no (mangled, inlinable) symbol name to match, and it also cancels one-time
# work done inside the first iteration, which a toggle around the loop would count.
# Periodic work (tokio's scheduler looks at its drivers every 61 polls) is averaged in.
#
# Usage: bash bench/callgrind.sh [CASE...]   (the cases: `target/release/paths list`)
# Every case by default: about 30 s on the project's 2-core machine once built.
set -euo pipefail
shopt -s inherit_errexit  # a failed run stops the script from inside `$(...)` too
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "bench/callgrind.sh: valgrind is not installed (e.g. apt-get install valgrind)" >&2
    exit 1
fi

cargo build -q --release -p tale-bench --bin paths
bin="${CARGO_TARGET_DIR:-$root/target}/release/paths"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The instructions callgrind counted for one run of `paths "$@"`.
count() {
    if ! valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$@" \
        >/dev/null 2>"$tmp/log"; then
        echo "bench/callgrind.sh: paths $* failed under callgrind:" >&2
        cat "$tmp/log" >&2
        exit 1
    fi
    awk '/^totals:/ { print $2 }' "$tmp/out"
}

# Instructions per saga of `paths CASE VARIANT`, from N and 2N iterations.
per_saga() {
    local case=$1 variant=$2 n=$3 once twice
    once=$(count "$case" "$variant" "$n")
    twice=$(count "$case" "$variant" $((2 * n)))
    awk -v a="$once" -v b="$twice" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }'
}

mapfile -t known < <("$bin" list)
if [ $# -gt 0 ]; then cases=("$@"); else cases=("${known[@]}"); fi
for case in "${cases[@]}"; do
    if ! printf '%s\n' "${known[@]}" | grep -qx -- "$case"; then
        echo "bench/callgrind.sh: no case $case; the cases: ${known[*]}" >&2
        exit 2
    fi
done
for case in "${cases[@]}"; do
    # Enough iterations that the loop's instructions dwarf any difference between the
    # two start-ups (there is none in practice: a run's count repeats exactly).
    case $case in
        *_1000) n=100 ;;
        *_100) n=1000 ;;
        *) n=5000 ;;
    esac
    saga=$(per_saga "$case" saga "$n")
    hand=$(per_saga "$case" hand "$n")
    awk -v c="callgrind_$case" -v s="$saga" -v h="$hand" 'BEGIN {
        printf "figure %s_ratio: %.3f\n", c, s / h
        printf "figure %s_saga_instructions: %.1f\n", c, s
        printf "figure %s_hand_instructions: %.1f\n", c, h
    }'
done
