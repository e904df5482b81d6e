#!/usr/bin/env bash
# Fills .devdeps/ (git-ignored through .git/info/exclude) with what scripts/device/gpu-check.sh needs
# on a GPU machine that has no apt, no network and none of the core's -dev packages: the Debian 12
# .deb files of the core + CLI dependencies (unpacked there with dpkg -x into a private prefix) and
# copies of the tiny model, its reference outputs and ml-latest-small (ratings + movies).
# Run here (Debian 12, apt reachable). Usage: scripts/device/fetch-deps.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$root/.devdeps"
shared="${RECALIGN_SHARED_DIR:-$root/../shared}"
# Headers + shared libraries. libsentencepiece0 carries its own protobuf-lite (no libprotobuf dep);
# gpu-check.sh verifies that with ldd. libopenblas is not needed: pip's torch brings MKL.
packages=(libyaml-cpp-dev libyaml-cpp0.7 libsqlite3-dev libsqlite3-0 nlohmann-json3-dev
          libsentencepiece-dev libsentencepiece0 zlib1g-dev zlib1g)

rm -rf "$dest/debs"
mkdir -p "$dest/debs"
cd "$dest/debs"
if ! apt-get download "${packages[@]}" 2>/dev/null; then
    apt-get update -qq
    apt-get download "${packages[@]}"
fi
# Plain file names (the epoch's "%3a" would not travel everywhere).
for f in *.deb; do
    case "$f" in *%*) mv -f "$f" "${f//%3a/_}" ;; esac
done

# Data and model, in the same layout as ../shared so RECALIGN_SHARED_DIR can point at it.
stories="$shared/models/stories260K"
ml="$shared/data/ml-latest-small"
mkdir -p "$dest/shared/models/stories260K" "$dest/shared/data/ml-latest-small"
for f in stories260K.bin tok512.model reference-greedy-256.txt reference-greedy-512.txt README.md; do
    cp -f "$stories/$f" "$dest/shared/models/stories260K/"
done
for f in ratings.csv movies.csv README.txt; do
    cp -f "$ml/$f" "$dest/shared/data/ml-latest-small/"
done
chmod -R u+w "$dest/shared"

# Never committed: keep it out of git status (the exclude file is local, not tracked).
exclude="$root/.git/info/exclude"
if [ -f "$exclude" ] && ! grep -qxF '/.devdeps/' "$exclude"; then
    echo '/.devdeps/' >> "$exclude"
fi

echo "fetched into $dest:"
ls -l "$dest"/debs/*.deb
du -sh "$dest/debs"; du -sh "$dest/shared"; du -sh "$dest"
