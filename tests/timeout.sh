#!/bin/sh
# timeout.sh TEST [ARGS] - run one test under a time limit, so a hung test
# fails (exit 124, reported by automake as FAIL) instead of stalling the
# suite. SD_TEST_TIMEOUT seconds, 600 by default; SIGKILL 10 s after SIGTERM.
exec timeout -k 10 "${SD_TEST_TIMEOUT:-600}" "$@"
