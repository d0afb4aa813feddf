#!/usr/bin/env bash
# The benchmark (docs/performance.md): PostgreSQL and Redis started when needed, wrk installed
# when missing, then benchmarks/run.py: a fresh seeded database, the product and the raw
# baseline under gunicorn, wrk at several concurrencies, the table, JSON in benchmarks/results/.
#   scripts/bench.sh [--tickets N] [--scale] [--duration S] [--concurrency 1,16,64] [--help]
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== services" >&2
source scripts/_services.sh >&2
if ! command -v wrk >/dev/null 2>&1; then
  echo "== installing wrk (Debian)" >&2
  apt-get install -y wrk >&2 || { apt-get update >&2 && apt-get install -y wrk >&2; }
fi
source scripts/_venv.sh "dev"
exec "$HELPDESK_VENV/bin/python" -m benchmarks.run "$@"
