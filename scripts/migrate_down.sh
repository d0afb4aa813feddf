#!/usr/bin/env bash
# Migrate the configured database (HELPDESK_DATABASE_URL) down to REVISION (default: one step, -1).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh ""
exec "$HELPDESK_VENV/bin/helpdesk" db downgrade "${1:--1}"
