#!/bin/sh
# build-aux/test-wrapper.sh - run one test program, under valgrind when $VALGRIND is set
if [ -n "$VALGRIND" ]; then
	CK_FORK=no
	export CK_FORK
	exec "$VALGRIND" --quiet --error-exitcode=1 --leak-check=full \
		--errors-for-leak-kinds=definite "$@"
fi
exec "$@"
