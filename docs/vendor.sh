#!/usr/bin/env bash
# Vendor the QR decoder of the staff check-in page into static/vendor/ (why this library: docs/vendor.md).
#
#   docs/vendor.sh           fetch the pinned versions from the npm registry and (re)write static/vendor/
#   docs/vendor.sh --check   fetch them again and fail unless static/vendor/ holds exactly those files
#
# Only `npm pack` is used: it downloads the published tarballs and checks them against the
# registry's integrity hashes; nothing is installed and no package script runs.
set -euo pipefail

BARCODE_DETECTOR_VERSION=3.2.2
# The exact version barcode-detector 3.2.2 depends on (checked below): its JS glue is bundled in
# barcode-detector's file, the .wasm binary comes from this package.
ZXING_WASM_VERSION=3.1.3

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/static/vendor/barcode-detector-$BARCODE_DETECTOR_VERSION"
mode=${1:-write}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

npm pack --silent "barcode-detector@$BARCODE_DETECTOR_VERSION" "zxing-wasm@$ZXING_WASM_VERSION" >/dev/null
mkdir bd zx out
tar -xzf "barcode-detector-$BARCODE_DETECTOR_VERSION.tgz" -C bd
tar -xzf "zxing-wasm-$ZXING_WASM_VERSION.tgz" -C zx

depends_on=$(node -p "require('./bd/package/package.json').dependencies['zxing-wasm']")
if [ "$depends_on" != "$ZXING_WASM_VERSION" ]; then
  echo "barcode-detector $BARCODE_DETECTOR_VERSION depends on zxing-wasm $depends_on, not $ZXING_WASM_VERSION" >&2
  exit 1
fi

# The IIFE build: one classic script, no imports, defines the global BarcodeDetectionAPI.
cp bd/package/dist/iife/ponyfill.js out/barcode-detector.iife.js
cp zx/package/dist/reader/zxing_reader.wasm out/zxing_reader.wasm
cp bd/package/LICENSE out/LICENSE.barcode-detector
cp zx/package/LICENSE out/LICENSE.zxing-wasm

# The bundle names the SHA-256 of the .wasm it was built for: the two must belong together.
wasm_sha=$(sha256sum out/zxing_reader.wasm | cut -d' ' -f1)
if ! grep -q "$wasm_sha" out/barcode-detector.iife.js; then
  echo "zxing_reader.wasm ($wasm_sha) is not the binary barcode-detector $BARCODE_DETECTOR_VERSION expects" >&2
  exit 1
fi

# The .wasm is ZXing-C++ (Apache License 2.0) compiled by zxing-wasm: carry its licence too.
zxing_cpp_commit=$(node -e "
  const src = require('fs').readFileSync('out/barcode-detector.iife.js', 'utf8');
  const m = src.match(/ZXING_CPP_COMMIT=(\w+)/); const v = m && src.match(new RegExp('[,;{ ]' + m[1] + '=\`([0-9a-f]{40})\`'));
  process.stdout.write(v ? v[1] : 'unknown');")
{
  echo "zxing_reader.wasm is ZXing-C++ (https://github.com/zxing-cpp/zxing-cpp, commit $zxing_cpp_commit),"
  echo "compiled to WebAssembly by zxing-wasm $ZXING_WASM_VERSION (https://github.com/Sec-ant/zxing-wasm)."
  echo "ZXing-C++ is licensed under the Apache License 2.0: see LICENSE.zxing-cpp."
} > out/NOTICE
if [ -f /usr/share/common-licenses/Apache-2.0 ]; then
  cp /usr/share/common-licenses/Apache-2.0 out/LICENSE.zxing-cpp
else
  echo "warning: /usr/share/common-licenses/Apache-2.0 not found; LICENSE.zxing-cpp not written" >&2
fi

(cd out && sha256sum -- * | sort -k2 > SHA256SUMS)

if [ "$mode" = "--check" ]; then
  diff -r out "$dest" && echo "static/vendor/barcode-detector-$BARCODE_DETECTOR_VERSION matches npm"
  exit
fi

rm -rf "$dest"
mkdir -p "$dest"
cp out/* "$dest/"
echo "vendored into ${dest#"$root/"}:"
cat "$dest/SHA256SUMS"
