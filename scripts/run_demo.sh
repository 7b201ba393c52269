#!/usr/bin/env bash
# Start a local Odoo 18 with milestone_billing and its demo consulting firm on a
# fresh database, and print where to log in. Needs Odoo 18 importable by python3
# and a local PostgreSQL. Usage: bash scripts/run_demo.sh [DATABASE] (PORT=8069)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DB="${1:-milestone_billing_demo}"
PORT="${PORT:-8069}"

if ! python3 -c 'import sys, odoo.release as r; sys.exit(r.series != "18.0")' 2>/dev/null; then
    echo "python3 cannot import Odoo 18.0: install it first (see README.md)." >&2
    exit 1
fi
ODOO_ADDONS="$(python3 -c 'import os, odoo; print(os.path.join(os.path.dirname(os.path.dirname(odoo.__file__)), "addons"))')"

if ! pg_isready -q 2>/dev/null; then
    pg_ctlcluster 15 main start
    for _ in $(seq 30); do pg_isready -q && break; sleep 1; done
fi
if [ "$(id -u)" = "0" ]; then
    su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$(id -un)'\"" | grep -q 1 \
        || su postgres -c "createuser --superuser $(id -un)"
fi

# The addon's technical name is its folder's name: serve this checkout as milestone_billing.
ADDONS_DIR="$(mktemp -d)"
ln -s "$REPO" "$ADDONS_DIR/milestone_billing"
ADDONS_PATH="$ODOO_ADDONS,$ADDONS_DIR"

dropdb --if-exists "$DB"
echo "Creating database $DB with milestone_billing and its demo data..."
python3 -m odoo -d "$DB" -i milestone_billing --addons-path="$ADDONS_PATH" \
    --stop-after-init --log-level=warn

echo
echo "Milestone Billing demo: http://localhost:$PORT/odoo/action-milestone_billing.project_milestone_action_billing"
echo "Log in as admin / admin (project manager and accountant), or demo / demo."
echo "Stop with Ctrl+C."
exec python3 -m odoo -d "$DB" --addons-path="$ADDONS_PATH" --http-port="$PORT" \
    --db-filter="^$DB\$" --log-level=warn
