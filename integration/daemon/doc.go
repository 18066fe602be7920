// Package daemon holds black-box tests of berthd: a real daemon on a temp
// data root and socket, driven by the docker CLI, Docker's Go client and raw
// HTTP. They need root and skip without it.
package daemon
