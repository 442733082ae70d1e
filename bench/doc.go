// Package bench holds the benchmarks of docs/BENCHMARKS.md, S1 to S7: the
// whole application served over loopback HTTP, each next to its own
// reference measured in the same run. It holds benchmarks only; `make
// bench` runs them.
package bench
