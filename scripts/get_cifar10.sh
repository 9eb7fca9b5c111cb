#!/bin/bash
# Downloads CIFAR-10's binary release, checks its MD5 and unpacks it:
#   scripts/get_cifar10.sh [DIR]     (default data/cifar10; the examples look there)
# leaves DIR/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-data/cifar10}
url=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
md5=c32a1d4ab5d03f1284b67883e8d87530
archive="$dir/cifar-10-binary.tar.gz"

if [ -f "$dir/cifar-10-batches-bin/test_batch.bin" ]; then
  echo "CIFAR-10 is already in $dir/cifar-10-batches-bin"
  exit 0
fi
mkdir -p "$dir"
if [ ! -f "$archive" ]; then
  echo "downloading $url"
  if command -v curl >/dev/null; then
    curl -fL --retry 3 -o "$archive.partial" "$url"
  else
    wget -O "$archive.partial" "$url"
  fi
  mv "$archive.partial" "$archive"
fi
echo "$md5  $archive" | md5sum -c - || {
  echo "MD5 mismatch: $archive is damaged or not the official release; delete it and retry" >&2
  exit 1
}
tar -xzf "$archive" -C "$dir"
rm "$archive"
echo "CIFAR-10 is in $dir/cifar-10-batches-bin"
