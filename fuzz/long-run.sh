#!/usr/bin/env bash
# The long fuzz run: every target in turn for SECONDS each (default 3600, one hour), with
# FUZZ_JOBS libFuzzer worker processes (default 2; cargo-fuzz's --jobs N is libFuzzer's
# -fork=N). Seeds the corpus from the traces first; the corpus in corpus/<target>/ grows
# across runs. A target that fails does not stop the others; the summary at the end names
# it and the script exits non-zero. Crash inputs land in artifacts/<target>/.
#
#   fuzz/long-run.sh            # 7 targets x 1 hour
#   fuzz/long-run.sh 600        # 7 targets x 10 minutes
#   FUZZ_JOBS=1 fuzz/long-run.sh 60
set -uo pipefail
cd "$(dirname "$0")"

seconds="${1:-3600}"
jobs="${FUZZ_JOBS:-2}"
targets=(tlv_parse capdu_parse card_handle dol_build kernel_vs_card host_json rsa_fixed iso8583)
export RUSTC_BOOTSTRAP=1

./seed-corpus.sh
cargo fuzz build -s none || exit 1

logs=$(mktemp -d)
failed=()
for target in "${targets[@]}"; do
    extra=()
    # extended-length C-APDUs (data up to 65 535 bytes) must be reachable
    [ "$target" = capdu_parse ] && extra=(-max_len=70000)
    echo "=== $target: ${seconds}s, $jobs job(s), log $logs/$target.log"
    if cargo fuzz run -s none --jobs "$jobs" "$target" -- \
            -max_total_time="$seconds" "${extra[@]}" >"$logs/$target.log" 2>&1; then
        # the last status line (with -fork: `#N: cov: ... exec/s: ... time: ...`) and the end
        echo "$target: ok, corpus $(ls "corpus/$target" | wc -l) inputs"
        grep -E '^#[0-9]+' "$logs/$target.log" | tail -n 1
        grep -E '^(Done|INFO: exiting)' "$logs/$target.log" | tail -n 1
    else
        tail -n 40 "$logs/$target.log"
        echo "$target: FAILED (input in artifacts/$target/)"
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed: ${failed[*]} (logs in $logs)"
    exit 1
fi
echo "all ${#targets[@]} targets ran ${seconds}s each without a finding (logs in $logs)"
