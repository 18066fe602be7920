package faststart

// #cgo CFLAGS: -Wall -O2
import "C"

// Marker is the file in a container's state directory whose presence lets
// the C path answer `start`; see the package doc for its content.
const Marker = "start.fast"

// DeleteMarker is the file that lets the C path answer `delete`.
const DeleteMarker = "delete.fast"
