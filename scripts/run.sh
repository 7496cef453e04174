#!/usr/bin/env bash
# run.sh: the default comparison behind `make run` (issue 7).
echo "run: the end-to-end comparison is not built yet (issue 7); see README" >&2
exit 1
