#!/usr/bin/env bash
# Installs what torchclr needs to build, test and run its examples on Debian/Ubuntu, skipping what
# is already there.
set -euo pipefail

packages=(cmake g++ make libtorch-dev libgloo-dev libgtest-dev libbenchmark-dev libcli11-dev zlib1g-dev
          gnuplot-nox dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends \
  "${missing[@]}"
