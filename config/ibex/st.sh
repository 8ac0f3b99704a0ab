#!/bin/sh
# Start the script server as an IBEX IOC (SCRPTSRV_01). procServ runs this file:
#
#   procServ --logfile "$ICPVARDIR/logs/ioc/SCRPTSRV_01-%Y%m%d.log" --timefmt="%c" \
#            --name SCRPTSRV_01 --ignore "^D^C" 20001 /path/to/config/ibex/st.sh
#
# IBEX's environment gives MYPVPREFIX (the PVs are served under $(MYPVPREFIX)SCRPTSRV_01:)
# and MACROS (a JSON object; see README.md beside this file for the macros it reads).
# `exec` makes the IOC procServ's own child: a procServ restart or kill reaches it, and
# the IOC then ends its jobs as it does anywhere else.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
PYTHON=${SCRIPTSERVER_PYTHON:-python3}
if [ -n "$SCRIPTSERVER_CONFIG" ]; then
    exec "$PYTHON" -m scriptserver.ioc --ioc-name "${IOCNAME:-SCRPTSRV_01}" \
        --config "$SCRIPTSERVER_CONFIG" "$@"
fi
exec "$PYTHON" -m scriptserver.ioc --ioc-name "${IOCNAME:-SCRPTSRV_01}" "$@"
