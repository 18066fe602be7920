// Package logger defines what a log driver is: a Logger that takes a
// container's output one message at a time, and a Reader that serves
// `logs` (follow, since, until, tail). Drivers live in subpackages
// (jsonfile, ...) and each runs the conformance suite in loggertest.
//
// It is a mechanism: it imports nothing of berth's. Copy is the one piece of
// behaviour every driver shares: it turns a byte stream into messages the way
// docker's copier does (one per line, long lines split into partial
// messages of at most MaxLineSize bytes).
package logger
