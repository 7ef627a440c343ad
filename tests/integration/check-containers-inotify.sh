#!/bin/bash
# check-containers.sh with the inotify backend (the default run tests fanotify).
WATCH_BACKEND=inotify exec bash "$(dirname "$0")/check-containers.sh"
