#!/usr/bin/env bash
# Set up (first run only) and serve helpdesk on the embedded default: SQLite, no Redis.
# Listens on http://127.0.0.1:8000 (HELPDESK_BIND); extra arguments go to `helpdesk serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh ""
export HELPDESK_AUTO_MIGRATE="${HELPDESK_AUTO_MIGRATE:-true}"
exec "$HELPDESK_VENV/bin/helpdesk" serve "$@"
