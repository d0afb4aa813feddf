# Sourced by the scripts: make (or reuse) the project's virtual environment in $HELPDESK_VENV
# (default .venv) with the given extras, reinstalling only when pyproject.toml changed.
# helpdesk's import packages (adapters, entrypoints) have generic names: keep it in its own venv.
set -euo pipefail
: "${HELPDESK_VENV:=.venv}"
extras="${1:-}"
python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: helpdesk needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi
if [ ! -x "$HELPDESK_VENV/bin/python" ]; then
  "$python_bin" -m venv "$HELPDESK_VENV"
fi
stamp="$HELPDESK_VENV/.installed-$( (cat pyproject.toml; echo "$extras") | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$HELPDESK_VENV/bin/python" -m pip install --quiet --upgrade pip
  "$HELPDESK_VENV/bin/python" -m pip install --quiet -e ".${extras:+[$extras]}"
  rm -f "$HELPDESK_VENV"/.installed-*
  touch "$stamp"
fi
