#!/usr/bin/env bash
# Mutation testing of the detection side with cargo-mutants: each area's code is mutated one
# small change at a time (a condition negated, a comparison flipped, a function made to return a
# default) and the tests that guard that area are run; a mutant they do not notice is "missed".
# Not part of CI: it builds the core once per mutant (docs/robustness.md has the figures).
#
# Usage: bash scripts/mutants.sh [AREA...]      AREA: severity merge framing rules (default: all)
# Results: target/mutants/AREA/mutants.out/ (caught.txt, missed.txt, timeout.txt, unviable.txt).
# Environment: MUTANTS_ARGS  more arguments for cargo mutants (e.g. "--shard 1/4", "--iterate")
set -euo pipefail
LOG_PREFIX=mutants
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

if ! command -v cargo-mutants >/dev/null 2>&1; then
  log "installing cargo-mutants"
  cargo install --locked cargo-mutants
fi

# Unit tests of the core that read large generated logs; they guard memory, not these areas.
SKIP=(--skip a_known_size_sets_room_aside_once --skip a_wrong_size_changes_nothing
  --skip appended_requests_are_told_apart_by_auditid)

run_area() {
  local area="$1" files=() tests=() re=() profile=mutation
  case "$area" in
    severity)
      files=(crates/auditlens-core/src/scoring/mod.rs crates/auditlens-core/src/scoring/incident.rs)
      re=(--re 'severity_of|rule_weight|lower')
      tests=(--lib --test rules_fixtures --test scoring_scenarios) ;;
    merge)
      files=(crates/auditlens-core/src/analysis.rs crates/auditlens-core/src/model.rs)
      re=(--re 'merge_into|merge_stage|completeness')
      tests=(--lib --test stage_merge --test ingest --test shard) ;;
    framing)
      files=(crates/auditlens-core/src/ingest/framing.rs)
      tests=(--lib --test ingest --test shard --test formats_eks --test formats_gke_aks --test formats_shippers)
      profile=mutation-optimized ;;
    rules)
      files=('crates/auditlens-core/src/rules/*.rs')
      tests=(--lib --test rules_fixtures --test rules_falco --test rules_config --test trimmed) ;;
    *) die "unknown area $area (severity, merge, framing, rules)" ;;
  esac
  mkdir -p "target/mutants/$area"
  # The test targets go to every cargo call, so each mutant builds only the binaries that run;
  # the mutation profiles leave out debug info (Cargo.toml).
  local args=(-p auditlens-core --profile "$profile" --output "target/mutants/$area" "${re[@]}")
  for f in "${files[@]}"; do args+=(-f "$f"); done
  for t in "${tests[@]}"; do args+=("--cargo-arg=$t"); done
  log "$area: $(cargo mutants "${args[@]}" --list | wc -l) mutants"
  # shellcheck disable=SC2086  # MUTANTS_ARGS is a list of words
  cargo mutants "${args[@]}" ${MUTANTS_ARGS:-} -- -- "${SKIP[@]}" || true
  local out="target/mutants/$area/mutants.out"
  count() { if [[ -f "$out/$1.txt" ]]; then wc -l <"$out/$1.txt"; else echo 0; fi; }
  log "$area: caught $(count caught), missed $(count missed)," \
    "timeout $(count timeout), unviable $(count unviable)"
}

areas=("$@")
if ((${#areas[@]} == 0)); then areas=(severity merge framing rules); fi
for area in "${areas[@]}"; do run_area "$area"; done
