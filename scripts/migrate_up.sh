#!/usr/bin/env bash
# Migrate the configured database (HELPDESK_DATABASE_URL) up to REVISION (default: head).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh ""
exec "$HELPDESK_VENV/bin/helpdesk" db upgrade "${1:-head}"
