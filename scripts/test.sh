#!/usr/bin/env bash
# Set up the development environment and run the whole test suite.
#
# The PostgreSQL and Redis suites run when HELPDESK_TEST_DATABASE_URL / HELPDESK_TEST_REDIS_URL
# are set; when they are not, this script points them at the local servers if those answer
# (127.0.0.1:5432 and :6379), and otherwise those suites skip with a reason. Arguments go to
# pytest (default: the whole suite on 2 processes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh "dev"
py="$HELPDESK_VENV/bin/python"

answers() {  # answers HOST PORT: is something listening?
  "$py" - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}
if [ -z "${HELPDESK_TEST_DATABASE_URL:-}" ] && answers 127.0.0.1 5432; then
  export HELPDESK_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
fi
if [ -z "${HELPDESK_TEST_REDIS_URL:-}" ] && answers 127.0.0.1 6379; then
  export HELPDESK_TEST_REDIS_URL="redis://127.0.0.1:6379/15"
fi
echo "PostgreSQL suite: ${HELPDESK_TEST_DATABASE_URL:-skipped (HELPDESK_TEST_DATABASE_URL unset)}"
echo "Redis suite:      ${HELPDESK_TEST_REDIS_URL:-skipped (HELPDESK_TEST_REDIS_URL unset)}"

set +e
if [ "$#" -gt 0 ]; then
  "$HELPDESK_VENV/bin/pytest" "$@"
else
  "$HELPDESK_VENV/bin/pytest" -n 2 --dist loadgroup
fi
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
