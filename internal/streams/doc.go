// Package streams holds the pieces of docker's attach and exec streams that
// do not depend on where the bytes come from: the 8-byte multiplexed frame
// format, detach-key sequences (ctrl-p,ctrl-q by default) and their
// parsing. It imports nothing of berth's.
package streams
