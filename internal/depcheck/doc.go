// Package depcheck holds only a test: it pins the import direction of the
// whole module (leaves → mechanisms → subsystems → daemon → server → cmd),
// using `go list -deps`, so a wrong import fails CI rather than review.
package depcheck
