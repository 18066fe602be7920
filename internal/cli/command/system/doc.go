// Package system holds the daemon-wide commands: version, info (also
// `system info`), with docker's human layouts and --format.
package system
