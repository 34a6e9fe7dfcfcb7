#!/bin/sh
# Installs the Debian packages given as arguments that are not installed
# yet, saying which.  Used by the Makefile's targets that need packages
# (`make deps`, `make test`, `make demo` ...; not the build itself) so that
# a fresh Debian 12 machine needs nothing but make and this tree.
set -eu
missing=""
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages:$missing" >&2
    echo "install them as root: apt-get install$missing" >&2
    exit 1
fi
echo "Installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
# Packages that ship a daemon (prometheus, memcached ...) must not start it:
# the tests start what they need, on loopback, themselves.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    own_policy=1
fi
# crowdsec's postinst registers this machine with CrowdSec's Central API,
# and fails offline, unless this file exists and is not empty before it is
# installed (README.Debian: a comment means "no thanks", and the file is
# kept at purge).  The tests run `cscli hubtest` only, offline.
case " $missing " in
*" crowdsec "*)
    capi=/etc/crowdsec/online_api_credentials.yaml
    if [ ! -e "$capi" ]; then
        mkdir -p /etc/crowdsec
        echo '# no Central API registration (mod_proxyguard tests: cscli hubtest, offline)' > "$capi"
        echo "Created $capi: crowdsec will not register with the Central API"
    elif [ ! -s "$capi" ]; then
        echo "note: $capi is empty: crowdsec's postinst will try to register online" >&2
    fi
    ;;
esac
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
[ -n "$own_policy" ] && rm -f "$policy"
exit 0
