#!/usr/bin/env bash
# The living documentation as one page: run the features under features/ (tests/bdd) and
# render every feature with each scenario's result to build/features/index.html.
#
# It fails (exit 1) when a scenario fails, including one with a step no definition matches,
# and when a step definition is used by no feature (tests/bdd/test_step_usage.py); the page
# is written either way, failures first. Arguments go to pytest (e.g. -k billing).
# The PostgreSQL scenarios run when the local server answers, as in scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${HELPDESK_VENV:=.venv}"
export HELPDESK_VENV
out=build/features
mkdir -p "$out"
rm -f "$out/cucumber.json" "$out/junit.xml"

# One process: xdist's workers do not pass pytest-bdd's step records on to the JSON.
set +e
scripts/test.sh tests/bdd -p no:randomly -p no:xdist -p no:cacheprovider \
  --cucumberjson="$out/cucumber.json" --junitxml="$out/junit.xml" "$@"
tests=$?
set -e
if [ ! -f "$out/cucumber.json" ]; then
  echo "error: pytest wrote no $out/cucumber.json" >&2
  exit 1
fi
rendered=0
"$HELPDESK_VENV/bin/python" scripts/render_features.py --results "$out/cucumber.json" \
  --junit "$out/junit.xml" --features features --output "$out/index.html" || rendered=$?
if [ "$tests" -ne 0 ] || [ "$rendered" -ne 0 ]; then
  echo "error: the features failed (pytest exit $tests, render exit $rendered): see $out/index.html" >&2
  exit 1
fi
echo "features: $out/index.html"
