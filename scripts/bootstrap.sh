#!/usr/bin/env bash
# Installs everything batchlight needs on a machine that has only Node 20 (and npm), then builds.
# Idempotent: a second run only checks. Used by both README commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.9
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("batchlight needs Node >= 20.19, found "+process.version); process.exit(1) }'

if [ "$(pnpm -v 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "bootstrap: installing pnpm $PNPM_VERSION"
  command -v corepack >/dev/null 2>&1 && corepack disable pnpm >/dev/null 2>&1 || true
  npm install -g "pnpm@$PNPM_VERSION" --no-fund --no-audit >/dev/null
fi

# better-sqlite3 builds from source against the machine's Node headers (no prebuilt download here).
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
# The Prisma CLI must never try to download its native engines (see packages/db/scripts/prisma.mjs).
export CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1

pnpm install --frozen-lockfile --reporter=append-only
pnpm turbo run build --output-logs=errors-only
