// Package faulttest holds the fault tests: the server under check-in or
// fan-out load while its database or Redis refuses, stalls or drops
// connections (through a testenv.Proxy, never by stopping the shared
// servers), and worker processes killed with SIGKILL. They wait on real
// time, so they are built only with the build tag "faults" (go test ./...
// does not link them) and run only when XF_FAULT_TESTS=1 (the fault step of
// .ci/run), against the PostgreSQL or MySQL and the Redis that TEST_DATABASE_URL and
// TEST_REDIS_URL name.
package faulttest
