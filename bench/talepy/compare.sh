#!/usr/bin/env bash
# tale's runtime-composed form against talepy 0.8.0's run_transaction, in one run:
# ns per step of each, and the speed-up. Needs python3 (talepy comes from PyPI).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
tale_figures=$(cargo bench -q -p tale-bench --bench sync -- composed 2>/dev/null | grep '^figure composed_')
talepy_figures=$(bash bench/talepy/run.sh)
echo "$tale_figures"
echo "$talepy_figures"
value() { echo "$1" | grep "^figure $2:" | awk '{print $3}'; }
for run in success_10 compensated_10 success_100 compensated_100; do
  ours=$(value "$tale_figures" "composed_${run}_ns_per_step")
  theirs=$(value "$talepy_figures" "talepy_${run}_ns_per_step")
  python3 -c "print(f'figure composed_${run}_speedup_vs_talepy: {float($theirs) / float($ours):.1f}')"
done
