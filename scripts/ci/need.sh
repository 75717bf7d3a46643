#!/usr/bin/env bash
# Installs from Debian the packages of commands that are missing, when it can (apt-get,
# root); otherwise says what to install and fails. Used by the Makefile's setup targets.
#
#   scripts/ci/need.sh "WHAT THEY ARE FOR" COMMAND:PACKAGE[,PACKAGE...] ...
set -euo pipefail
why=$1
shift
missing=""
for pair in "$@"; do
  cmd=${pair%%:*}
  pkgs=${pair#*:}
  command -v "$cmd" >/dev/null || missing="$missing ${pkgs//,/ }"
done
[ -z "$missing" ] && exit 0
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing$missing from Debian ($why)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
  echo "error: missing$missing ($why); install them and rerun" >&2
  exit 1
fi
