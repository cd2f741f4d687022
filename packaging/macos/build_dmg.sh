#!/bin/sh
# Build dist/Keiko-<version>.dmg from dist/Keiko.app (made by `make bundle` on macOS: the spec's
# BUNDLE step). A drag-to-Applications disk image, made with hdiutil (part of macOS).
# Usage: packaging/macos/build_dmg.sh VERSION
set -eu
version="${1:?usage: build_dmg.sh VERSION}"
app="dist/Keiko.app"
[ -d "$app" ] || { echo "no $app: run make bundle first" >&2; exit 1; }
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
hdiutil create -volname "Keiko $version" -srcfolder "$stage" -ov -format UDZO \
  "dist/Keiko-$version.dmg"
echo "dist/Keiko-$version.dmg"
