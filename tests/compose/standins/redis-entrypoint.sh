#!/bin/sh
# As the official image's: redis-server listens to the network and runs as redis in /data.
set -e
if [ "$1" = "redis-server" ]; then
    shift
    chown -R redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no "$@"
fi
exec "$@"
