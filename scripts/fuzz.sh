#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang + ASan + UBSan in build-fuzz/,
# seeds their corpora and runs them.
#
#   scripts/fuzz.sh [--runs N | --seconds S] [--no-build] [TARGET ...]
#
# Default: every target, 2,000 mutations after replaying its corpus (the CI
# smoke run, about a minute in all). --seconds S fuzzes each target for S
# seconds. Targets: onnx_import idx npy image_folder stats checkpoint.
# New corpus entries stay in build-fuzz/corpus/<target>/ (reused next time);
# a crashing input is saved as build-fuzz/findings/<target>/crash-* and the
# script exits non-zero. Inputs of fixed findings live in fuzz/regressions/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/build-fuzz"
runs=2000
seconds=""
build=1
targets=()
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(onnx_import idx npy image_folder stats checkpoint)

if ((build)); then
  bash "$root/scripts/setup.sh" > /dev/null
  echo "== build (clang, libFuzzer + ASan + UBSan) in build-fuzz =="
  CC=clang CXX=clang++ cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWINQ_FUZZ=ON -DWINQ_WITH_TORCH=ON > /dev/null
  cmake --build "$out" --parallel "$(nproc)"
fi

# Seeds: small valid files of each format, real models, the ONNX conformance
# suite's node models, a checkpoint written by the checkpoint target itself.
seeds="$out/seeds.$$"  # per invocation: several fuzz.sh may run at once
rm -rf "$seeds"
trap 'rm -rf "$seeds"' EXIT
/usr/bin/python3 "$root/fuzz/make_seeds.py" "$seeds"
mkdir -p "$seeds/onnx_import" "$seeds/checkpoint"
cp "$root/models/fashion_cnn_small.onnx" "$seeds/onnx_import/"
i=0
for m in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
  [[ -f "$m" ]] || continue
  cp "$m" "$seeds/onnx_import/node_$((i++)).onnx"
done
if [[ -x "$out/fuzz_checkpoint" ]]; then
  WINQ_FUZZ_WRITE_SEED="$seeds/checkpoint/valid.pt" "$out/fuzz_checkpoint" -runs=0 "$seeds/checkpoint" > /dev/null 2>&1
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for t in "${targets[@]}"; do
  bin="$out/fuzz_$t"
  if [[ ! -x "$bin" ]]; then
    echo "fuzz.sh: $t: no target built ($bin; checkpoint needs LibTorch)" >&2
    status=1
    continue
  fi
  mkdir -p "$out/corpus/$t" "$out/findings/$t"
  if [[ -n "$seconds" ]]; then
    limit=(-max_total_time="$seconds")
    what="$seconds s"
  else
    limit=(-runs="$runs")
    what="$runs runs"
  fi
  echo "== fuzz_$t ($what) =="
  log="$out/findings/$t/last.log"
  regress=()  # inputs that once crashed a target (fuzz/regressions/<target>/), replayed every run
  [[ -d "$root/fuzz/regressions/$t" ]] && regress=("$root/fuzz/regressions/$t")
  if "$bin" "$out/corpus/$t" "$seeds/$t" "${regress[@]}" "${limit[@]}" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$out/findings/$t/" > "$log" 2>&1; then
    grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::new_units_added)" "$log" | tr '\n' ' '
    echo
  else
    status=1
    echo "fuzz_$t FAILED — reproducer and log in $out/findings/$t/:" >&2
    grep -E "ERROR|SUMMARY|terminate|what\(\)|Test unit written" "$log" | head -20 >&2
  fi
done
exit $status
