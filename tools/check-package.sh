#!/usr/bin/env bash
# The package as users get it: `npm pack`, install the tarball into a fresh temporary project
# (its dependencies come from the npm registry or npm's cache, nothing else), then from there
# run the README's first command (`npx rsi-grad-cam demo`), check that the TypeScript types
# resolve, and make a library call (loadModel + explainFile on a shared ImageNet photo; skipped
# with a message when ../shared is absent). Run by .ci/run; runnable by hand from anywhere.
#   tools/check-package.sh [--keep]    (--keep leaves the temporary project for inspection)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$root/.." && pwd)/shared
keep=${1:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/rsi-grad-cam-package.XXXXXX")
if [[ $keep == --keep ]]; then echo "check-package: keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
started=$SECONDS
step() { echo "check-package: $* ($((SECONDS - started)) s)"; }

step "packing $root"
tarball=$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -n 1)
tar -tzf "$work/$tarball" > "$work/contents.txt"
for f in package/bin/rsi-grad-cam.js package/dist/src/index.js package/dist/src/index.d.ts package/dist/src/core.js \
  package/dist/src/cli/main.js package/assets/imagenet-labels.json package/assets/demo/demo-cnn.onnx \
  package/assets/demo/annotations.json package/dist/web/index.html package/README.md; do
  grep -qx "$f" "$work/contents.txt" || { echo "check-package: $tarball lacks $f" >&2; exit 1; }
done
if grep -E '^package/(src|test|tools|bench|dist/(test|tools|bench))/' "$work/contents.txt" >&2; then
  echo "check-package: $tarball ships development files (above)" >&2
  exit 1
fi
step "$tarball: $(wc -l < "$work/contents.txt") files, $(du -k "$work/$tarball" | cut -f1) KiB"

mkdir "$work/app"
cd "$work/app"
npm init -y > /dev/null
# What the README tells a user without access beyond the npm registry: skip onnxruntime-node's
# CUDA download (its CPU binaries ship inside the npm package).
export ONNXRUNTIME_NODE_INSTALL=skip
step "installing the tarball into $work/app"
npm install --no-audit --no-fund --prefer-offline "$work/$tarball"

step "npx rsi-grad-cam --version"
version=$(npx --no-install rsi-grad-cam --version 2> "$work/npx.err")
expected=$(node -p "require('$root/package.json').version")
[[ $version == "$expected" ]] || { echo "check-package: --version printed '$version', expected $expected" >&2; exit 1; }
if [[ -s $work/npx.err ]]; then
  echo "check-package: npx printed on stderr:" >&2
  cat "$work/npx.err" >&2
  exit 1
fi

step "npx rsi-grad-cam demo --out demo-out"
npx --no-install rsi-grad-cam demo --out demo-out
[[ -s demo-out/demo.png ]] || { echo "check-package: the demo wrote no demo-out/demo.png" >&2; exit 1; }

# The library call is TypeScript compiled here against the installed declarations, so the
# types are checked too; it runs only where the shared model and photos are.
step "compiling tools/check-package/library-call.ts against the installed types"
cp "$root/tools/check-package/library-call.ts" library-call.mts
"$root/node_modules/.bin/tsc" --strict --skipLibCheck --module nodenext --moduleResolution nodenext --target es2022 \
  --types node --typeRoots "$root/node_modules/@types" library-call.mts

model=$shared/models/mobilenet_v1_0.75_224/model.json
photos=$shared/data/imagenet-val-200
if [[ -f $model && -f $photos/annotations.json ]]; then
  step "library call: loadModel + explainFile on a shared photo"
  node library-call.mjs "$model" "$photos"
else
  step "SKIPPED the library call: needs $model and $photos (the shared data folder beside the repo)"
fi
step "rsi-grad-cam serve: the web page from the installed package"
node node_modules/rsi-grad-cam/bin/rsi-grad-cam.js serve --port 0 > serve.out 2>&1 &
serve_pid=$!
for _ in $(seq 100); do grep -q 'page at' serve.out && break; sleep 0.2; done
url=$(grep -o 'http://[^ ]*' serve.out | head -n 1)
node -e "fetch('$url').then(async (r) => { const coep = r.headers.get('cross-origin-embedder-policy'); const text = await r.text(); if (r.status !== 200 || coep !== 'require-corp' || !text.includes('rsi-grad-cam')) { console.error('check-package: serve answered', r.status, coep, text.slice(0, 200)); process.exit(1); } })" \
  || { kill "$serve_pid"; cat serve.out >&2; exit 1; }
kill "$serve_pid"

step "the installed package works"
