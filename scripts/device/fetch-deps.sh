#!/usr/bin/env bash
# Fills .devdeps/ (git-ignored through .git/info/exclude) with what scripts/device/gpu-check.sh needs
# on a GPU machine that has no apt, no network and none of the core's -dev packages: the SOURCES of
# the core + CLI dependencies, from Debian 12's source packages (sentencepiece with its bundled
# protobuf-lite, yaml-cpp, sqlite3, nlohmann-json, zlib), trimmed and packed into .devdeps/src/*.tar.xz,
# which scripts/device/build-deps.sh builds there with that machine's compiler and C++ ABI; plus
# copies of the tiny model, its reference outputs and ml-latest-small (ratings + movies).
# Run here (Debian 12, apt and the network reachable; nothing under /etc changes: the deb-src list
# lives in a temporary folder). Usage: scripts/device/fetch-deps.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$root/.devdeps"
shared="${RECALIGN_SHARED_DIR:-$root/../shared}"
packages=(sentencepiece yaml-cpp sqlite3 nlohmann-json3 zlib)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A private deb-src list and package lists: apt-get source without touching the system's sources.
mkdir -p "$work/lists/partial" "$work/pkgs"
cat > "$work/sources.list" <<'EOF'
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
EOF
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$work/lists" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -qq
(cd "$work/pkgs" && apt-get "${apt_opts[@]}" source --download-only "${packages[@]}")
for dsc in "$work"/pkgs/*.dsc; do
    (cd "$work/pkgs" && dpkg-source --no-check -x "$dsc" >/dev/null)
done
tree() { find "$work/pkgs" -mindepth 1 -maxdepth 1 -type d -name "$1-*" | head -1; }
version() { local v; v="$(dpkg-parsechangelog -l "$1/debian/changelog" -S Version)"; echo "${v#*:}"; }  # no epoch

rm -rf "$dest/src" "$dest/debs"
mkdir -p "$dest/src"
pack() {  # NAME DIR: DIR (trimmed) as src/NAME.tar.xz with a top folder NAME
    rm -rf "$work/$1"
    mv "$2" "$work/$1"
    tar -C "$work" -cJf "$dest/src/$1.tar.xz" "$1"
    echo "packed $1 ($(du -sh "$dest/src/$1.tar.xz" | cut -f1))"
}

# sentencepiece: Debian's tree (its patches applied: the API the core uses), with the static
# libraries Debian's disable-static-library.patch removes restored — build-deps.sh links them into
# the tokenizer module with their symbols hidden. Test data and the python wrapper stay behind.
sp="$(tree sentencepiece)"
(cd "$sp" && patch -R -p1 -s < debian/patches/disable-static-library.patch)
rm -rf "$sp/data" "$sp/python" "$sp/.pc"
find "$sp/debian" -mindepth 1 -maxdepth 1 ! -name copyright ! -name changelog -exec rm -rf {} +
pack "sentencepiece-$(version "$sp")" "$sp"

yc="$(tree yaml-cpp)"
rm -rf "$yc/test" "$yc/.pc"
find "$yc/debian" -mindepth 1 -maxdepth 1 ! -name copyright ! -name changelog -exec rm -rf {} +
pack "yaml-cpp-$(version "$yc")" "$yc"

# sqlite3: the amalgamation (sqlite3.c + sqlite3.h), generated here from Debian's source tree
# (its generator needs tclsh, which a bare GPU machine may lack).
sq="$(tree sqlite3)"
sqv="$(version "$sq")"
mkdir -p "$work/sqlite-build" "$work/sqlite"
(cd "$work/sqlite-build" && "$sq/configure" --quiet >/dev/null && make -s sqlite3.c >/dev/null)
cp "$work/sqlite-build/sqlite3.c" "$work/sqlite-build/sqlite3.h" "$work/sqlite/"
cp "$sq/debian/copyright" "$sq/debian/changelog" "$work/sqlite/"
pack "sqlite3-$sqv" "$work/sqlite"

nj="$(tree nlohmann-json3)"
rm -rf "$nj/tests" "$nj/docs" "$nj/tools" "$nj/.pc"
find "$nj/debian" -mindepth 1 -maxdepth 1 ! -name copyright ! -name changelog -exec rm -rf {} +
pack "nlohmann-json3-$(version "$nj")" "$nj"

zl="$(tree zlib)"
rm -rf "$zl/contrib" "$zl/doc" "$zl/examples" "$zl/test" "$zl/.pc"
find "$zl/debian" -mindepth 1 -maxdepth 1 ! -name copyright ! -name changelog -exec rm -rf {} +
pack "zlib-$(version "$zl")" "$zl"

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
ls -l "$dest"/src/
du -sh "$dest/src"; du -sh "$dest/shared"; du -sh "$dest"
