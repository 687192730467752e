#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of Fuzz/ (ASan + coverage) and runs each, one at a time,
# for FUZZ_SECONDS. New corpus entries go to a scratch directory, never to the committed Fuzz/Corpus;
# crash inputs go to a directory named at the end. Exits 1 if any target crashed or failed to build.
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   which targets (default: all): frame json envelope template condition config resp
#   FUZZ_WORK      scratch directory for corpora, logs and artifacts (default .build-fuzz/work)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (default 20)
#   FUZZ_JOBS      `swift build -j` (default 1: the machine is shared)
#   FUZZ_ARGS      more libFuzzer flags, e.g. FUZZ_ARGS=-max_len=65536
set -uo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
SECONDS_EACH=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-frame json envelope template condition config resp}
WORK=${FUZZ_WORK:-.build-fuzz/work}
SCRATCH=.build-fuzz
RUN=$(date +%Y%m%d-%H%M%S)
ARTIFACTS=$WORK/artifacts/$RUN

product() {
    case $1 in
    frame) echo FuzzFrame ;;
    json) echo FuzzJSON ;;
    envelope) echo FuzzEnvelope ;;
    template) echo FuzzTemplate ;;
    condition) echo FuzzCondition ;;
    config) echo FuzzConfig ;;
    resp) echo FuzzRESP ;;
    *) return 1 ;;
    esac
}

for target in $TARGETS; do
    product "$target" >/dev/null || {
        echo "make fuzz: unknown target '$target'; known: frame json envelope template condition config resp" >&2
        exit 2
    }
done

# `-sanitize=` given twice to swiftc keeps only the last one, so SwiftPM's `--sanitize=fuzzer
# --sanitize=address` alone would leave the Swift code without coverage: -Xswiftc passes both at once
# (SwiftPM's flags still take care of C targets and of linking libFuzzer and the ASan runtime).
build() {
    "$SWIFT" build --package-path Fuzz --scratch-path "$SCRATCH" -j "${FUZZ_JOBS:-1}" \
        --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address --product "$1" 2>&1 |
        grep -v -e 'Cannot export local symbol' -e 'unhandled; explicitly declare them as resources' -e '/checkouts/'
    return "${PIPESTATUS[0]}"
}

# Let libFuzzer and ASan report a trap (Swift's own backtracer would race them and confuse ASan).
# No leak checking: LeakSanitizer cannot see through Swift's enum payload pointers (tags in their
# spare bits), so it reports boxes that are still referenced (e.g. by a global) as leaked.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}

mkdir -p "$WORK/logs" "$ARTIFACTS"
summary=()
failed=0
for target in $TARGETS; do
    name=$(product "$target")
    echo "== fuzz $target: building $name"
    if ! build "$name"; then
        summary+=("$(printf '%-10s build failed' "$target")")
        failed=1
        continue
    fi
    binary="$SCRATCH/debug/$name"
    corpus="$WORK/corpus/$target"
    log="$WORK/logs/$target.log"
    mkdir -p "$corpus" "$ARTIFACTS/$target"
    args=(
        -max_total_time="$SECONDS_EACH" -timeout="${FUZZ_TIMEOUT:-20}" -print_final_stats=1 -detect_leaks=0
        -artifact_prefix="$ARTIFACTS/$target/"
    )
    [[ -f Fuzz/Dictionaries/$target.dict ]] && args+=(-dict="Fuzz/Dictionaries/$target.dict")
    echo "== fuzz $target: running for ${SECONDS_EACH}s (log: $log)"
    # The scratch corpus comes first: libFuzzer writes new entries only to the first directory.
    # shellcheck disable=SC2086
    "$binary" "${args[@]}" ${FUZZ_ARGS:-} "$corpus" "Fuzz/Corpus/$target" >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    crashes=$(find "$ARTIFACTS/$target" -type f | wc -l)
    if [[ $status -ne 0 && $crashes -eq 0 ]]; then crashes=1; fi
    line=$(printf '%-10s %10s execs %7s exec/s %3s crashes  %s new corpus entries' \
        "$target" "${runs:-?}" "${speed:-?}" "$crashes" "${added:-?}")
    summary+=("$line")
    if [[ $crashes -ne 0 ]]; then
        failed=1
        echo "== fuzz $target: CRASH (exit $status); input(s) in $ARTIFACTS/$target/, report:"
        grep -m1 -B2 -A30 -E '^==[0-9]+==ERROR|Fatal error|fuzz oracle|deadly signal|ALARM: working on the last Unit' "$log" |
            head -40
    fi
done

echo
echo "fuzz summary (${SECONDS_EACH}s per target; scratch corpora in $WORK/corpus, crash artifacts in $ARTIFACTS):"
for line in "${summary[@]}"; do echo "  $line"; done
if [[ $failed -ne 0 ]]; then
    echo "fuzz: FAILED — reproduce a crash with: $SCRATCH/debug/Fuzz<Target> <artifact file>"
    exit 1
fi
rmdir "$ARTIFACTS"/* "$ARTIFACTS" 2>/dev/null
echo "fuzz: no crashes"
