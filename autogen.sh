#!/bin/sh
# Generates ./configure from configure.ac (a git checkout has none; a release tarball does).
set -e
cd "$(dirname "$0")"
autoreconf --force --install --symlink
