#!/bin/sh
# Builds the RPM from rpm/mod_proxyguard.spec on this Debian machine, as far
# as a Debian host allows (make rpm; t/integrations/rpm.t):
#
#   rpm/build.sh [-ba|-bb|-bs] [TOPDIR]      (defaults: -ba, build/rpm)
#
# The source tarball is `git archive` of the working tree as git sees it:
# the tracked files as they are now (git stash create) plus the untracked
# files git does not ignore, under mod_proxyguard-VERSION/.  rpmbuild runs
# with --nodeps (the rpm database here holds no httpd-devel) and the two
# httpd macros that httpd-devel would define and that differ here: the
# apxs path, and httpd-mmn from Debian's ap_mmn.h in Fedora's form
# (MAJORx8664).  Every other macro takes the spec's fallback, Fedora's
# layout (/etc/httpd/conf.modules.d, /usr/lib64/httpd/modules ...).
# Prints the built package files, one a line, last.
set -eu
mode=-ba
case "${1:-}" in -ba|-bb|-bs) mode=$1; shift ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/rpm}
case "$out" in /*) ;; *) out=$(pwd)/$out ;; esac

version=$(sed -n 's/^#define PG_VERSION "\(.*\)"$/\1/p' "$top/pg_version.h")
name=mod_proxyguard-$version
rm -rf "$out"
mkdir -p "$out/SOURCES" "$out/SPECS"

cd "$top"
tree=$(git stash create)
[ -n "$tree" ] || tree=HEAD
# --add-file takes the last --prefix before it plus the file's basename;
# the tracked files take the last --prefix of all
set --
for f in $(git ls-files --others --exclude-standard); do
    dir=$(dirname "$f")
    [ "$dir" = . ] && dir= || dir=$dir/
    set -- "$@" "--prefix=$name/$dir" "--add-file=$f"
done
git archive --format=tar.gz "$@" --prefix="$name/" -o "$out/SOURCES/$name.tar.gz" "$tree"
cp rpm/mod_proxyguard.spec "$out/SPECS/"

mmn=$(sed -n 's/^#define MODULE_MAGIC_NUMBER_MAJOR \([0-9]*\)$/\1/p' \
      "$(apxs -q INCLUDEDIR)/ap_mmn.h")$(rpm --eval '%{__isa_name}%{__isa_bits}')
rpmbuild "$mode" --nodeps \
    --define "_topdir $out" \
    --define "_httpd_apxs $(command -v apxs)" \
    --define "_httpd_mmn $mmn" \
    "$out/SPECS/mod_proxyguard.spec" >"$out/rpmbuild.log" 2>&1 || {
    tail -40 "$out/rpmbuild.log" >&2
    echo "rpm/build.sh: rpmbuild $mode failed: $out/rpmbuild.log" >&2
    exit 1
}
find "$out/RPMS" "$out/SRPMS" -name '*.rpm' 2>/dev/null | sort
