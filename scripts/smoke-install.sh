#!/bin/sh
# Installs the release tarballs in release/ that fit this machine (dynpack and
# its platform package) into a fresh project that has only Node and npm (no
# Rust), then runs the CLI and the API. Run from the checkout, after
# `npm run release:pack`; the release workflow runs it in Debian, Alpine and
# UBI9 containers and on macOS and Windows runners.
set -eu
src=$(pwd)
version=$(node -p 'require("./package.json").version')
platform=$(node -p 'require("./lib/addon.js").platformId()')
echo "smoke-install: dynpack $version for $platform on Node $(node --version)"
tmp=$(mktemp -d)
cd "$tmp"
echo '{"name":"smoke","version":"1.0.0","private":true}' > package.json
npm install --save-dev --no-audit --no-fund --offline \
  "$src/release/dynpack-$version.tgz" "$src/release/dynpack-$platform-$version.tgz"
test "$(npx dynpack --version)" = "$version"

mkdir -p plugin/dist ours theirs
echo '{"name":"smoke-plugin","version":"1.0.0","main":"dist/index.js"}' > plugin/package.json
echo 'module.exports = {}' > plugin/dist/index.js
npx dynpack pack plugin --pack-destination ours
(cd plugin && npm pack --ignore-scripts --pack-destination ../theirs >/dev/null)
node -e '
  const fs = require("node:fs")
  const f = "smoke-plugin-1.0.0.tgz"
  if (!fs.readFileSync("ours/" + f).equals(fs.readFileSync("theirs/" + f))) throw new Error("dynpack pack and npm pack differ")
  require("dynpack").packDynamic("plugin", { dryRun: true }).then((r) => console.log("packDynamic:", r.integrity))
'
cd "$src"
rm -rf "$tmp"
echo "smoke-install: ok"
