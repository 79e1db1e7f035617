#!/usr/bin/env bash
# Development only, until the first release: rewrite the single initial
# migration from the models. Serialised with flock so parallel edits never race.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
exec 9>/tmp/spares-migration.lock
flock 9
tmp=$(mktemp -d)
sed -e "s#^script_location.*#script_location = $root/migrations#" \
    -e "s#^sqlalchemy.url.*#sqlalchemy.url = sqlite:///$tmp/gen.db#" alembic.ini > "$tmp/alembic.ini"
rm -f migrations/versions/*_foundation.py
.venv/bin/alembic -c "$tmp/alembic.ini" -x scope=foundation revision --autogenerate -m foundation --rev-id 0001 >/dev/null
.venv/bin/ruff format -q migrations/versions
rm -rf "$tmp"
echo "regenerated migrations/versions/0001_foundation.py"
