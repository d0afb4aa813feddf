#!/usr/bin/env bash
# The library's API reference: pdoc renders the module `helpdesk` (what its __all__ lists, from
# the docstrings and annotations) into build/apidocs/ (open build/apidocs/index.html).
# Arguments go to pdoc (e.g. --docformat google). tests/library/test_public_api.py builds the
# same reference on every test run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh "dev"
out=build/apidocs
rm -rf "$out"
"$HELPDESK_VENV/bin/pdoc" helpdesk --no-show-source --output-directory "$out" "$@"
echo "API reference: $out/index.html"
