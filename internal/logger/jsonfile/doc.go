// Package jsonfile is the json-file log driver in docker's on-disk format:
// one JSON object per line, {"log":"text\n","stream":"stdout","time":"<RFC
// 3339 nano, UTC>"}, with docker's max-size / max-file rotation (the live
// file is <path>, older ones <path>.1 ... <path>.<max-file - 1>).
//
// Not done yet: the "compress" option (docker gzips rotated files), and the
// "labels"/"env"/"tag" attrs. Tail reads the files forwards rather than
// backwards. Follow polls (no inotify dependency); it survives rotation by
// draining the file it holds open before moving to the new one, so a file
// lost only if it is both created and rotated away within one poll period.
//
// It imports only internal/logger and go-units (docker's size parser).
package jsonfile
