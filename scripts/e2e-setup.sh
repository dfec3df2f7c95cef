#!/usr/bin/env bash
# Prepares what the end-to-end test (test/e2e/vscode.test.ts) needs, outside the repository:
#   - Debian packages: chromium (the browser the test drives), libkrb5-dev and ripgrep (code-server's install);
#   - code-server 4.100.3 (VS Code 1.100.3 for the browser; later versions need Node 22), from npm, into
#     $INFLUENCE_LENS_E2E_CACHE (default $HOME/.cache/influence-lens-e2e)/code-server-4.100.3.
# Idempotent: a second run installs nothing and takes about a second. Run it as root (apt-get) on Debian 12;
# only the npm registry and Debian's mirrors need to be reachable. Prints the code-server executable's path
# last, on stdout; progress goes to stderr.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
# @vscode/ripgrep as code-server 4.100.3 pins it: its postinstall looks for this tarball in $TMPDIR before
# downloading it from GitHub, which is unreachable here. We seed it with Debian's rg instead.
RIPGREP_CACHE=vscode-ripgrep-cache-1.15.11
RIPGREP_TARBALL=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

CACHE=${INFLUENCE_LENS_E2E_CACHE:-$HOME/.cache/influence-lens-e2e}
DEST=$CACHE/code-server-$CODE_SERVER_VERSION
BIN=$DEST/node_modules/.bin/code-server

log() { printf 'e2e-setup: %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------------------------------------
missing=()
for pkg in chromium libkrb5-dev ripgrep; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]}; run this script as root (or: sudo apt-get install -y ${missing[*]})"
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # Without chromium's recommends (udev, upower, mesa, printing…): headless needs none of them, and its fonts
  # come through its dependencies (fontconfig-config → fonts-dejavu-core).
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# --- code-server -----------------------------------------------------------------------------------------
installed() { [ -f "$DEST/.complete" ] && [ -x "$BIN" ]; }
if installed; then
  log "code-server $CODE_SERVER_VERSION already in $DEST"
else
  log "installing code-server@$CODE_SERVER_VERSION into $DEST (about a minute)"
  mkdir -p "$CACHE"
  # Install beside the destination and rename at the end, so an interrupted run leaves nothing half-done.
  stage=$(mktemp -d "$CACHE/.code-server-install.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/tmp/$RIPGREP_CACHE" "$stage/prefix"
  tar -czf "$stage/tmp/$RIPGREP_CACHE/$RIPGREP_TARBALL" -C "$(dirname "$(command -v rg)")" rg
  (
    cd "$stage/prefix"
    export TMPDIR=$stage/tmp npm_config_unsafe_perm=true npm_config_yes=true
    # code-server's postinstall builds native modules (node-pty, spdlog, kerberos…) with node-gyp, which
    # downloads Node's headers from nodejs.org unless told where installed ones are.
    if [ -z "$(npm config get nodedir 2>/dev/null | grep -v '^null$\|^undefined$')" ] &&
      [ -f /usr/include/node/node_version.h ]; then
      export npm_config_nodedir=/usr
    fi
    # code-server's postinstall runs `npm install` in its VS Code folder; keep its output for a failed run.
    npm install --no-audit --no-fund --loglevel=error --prefix . "code-server@$CODE_SERVER_VERSION" >"$stage/npm.log" 2>&1 ||
      { tail -n 60 "$stage/npm.log" >&2; log "npm install code-server@$CODE_SERVER_VERSION failed"; exit 1; }
  )
  # The postinstall (npm install inside lib/vscode, native builds) must have run, not only the download.
  [ -f "$stage/prefix/node_modules/code-server/lib/vscode/node_modules/node-pty/build/Release/pty.node" ] ||
    { tail -n 60 "$stage/npm.log" >&2; log "code-server's postinstall did not build its native modules (were install scripts skipped?)"; exit 1; }
  rm -rf "$DEST"
  mv "$stage/prefix" "$DEST"
  touch "$DEST/.complete"
  rm -rf "$stage"
  trap - EXIT
  # The cached executable must run: a broken install would otherwise only show as a test timeout.
  # (Scratch XDG folders: code-server writes a default config file wherever XDG_CONFIG_HOME points.)
  scratch=$(mktemp -d)
  version=$(XDG_CONFIG_HOME=$scratch XDG_DATA_HOME=$scratch "$BIN" --version 2>/dev/null | grep -m1 "^$CODE_SERVER_VERSION ") || true
  rm -rf "$scratch"
  if [ -z "$version" ]; then
    rm -f "$DEST/.complete"
    log "the installed code-server does not run: try $BIN --version"
    exit 1
  fi
  log "installed code-server $version"
fi

echo "$BIN"
