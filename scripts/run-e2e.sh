#!/usr/bin/env bash
# The end-to-end suite (what .ci/run calls after the unit and integration tests): prepares chromium and
# code-server (scripts/e2e-setup.sh, idempotent; needs root the first time, for apt-get), builds the
# extension from the working tree, and runs test/e2e/*.test.ts in a real VS Code (code-server) in headless
# chromium. Screenshots and logs land in test/e2e/.artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
code_server=$(scripts/e2e-setup.sh) # its last line on stdout: the code-server executable
echo "e2e: setup took $((SECONDS - start)) s" >&2

start=$SECONDS
npm run build --silent
echo "e2e: build took $((SECONDS - start)) s" >&2

# Naming the executable makes a missing code-server or chromium a failure instead of a skip.
start=$SECONDS
status=0
INFLUENCE_LENS_CODE_SERVER=$code_server node scripts/run-tests.mjs e2e || status=$?
echo "e2e: tests took $((SECONDS - start)) s (screenshots and logs: test/e2e/.artifacts/)" >&2
exit "$status"
