// Package dockerconfig reads and writes the registry credentials the
// docker CLI keeps in config.json ($DOCKER_CONFIG, else ~/.docker): the
// "auths" map (base64 user:password, identity tokens), and a credsStore or
// per-registry credHelpers, which are docker-credential-<name> programs
// spoken to over stdin and stdout as the docker CLI does. Other keys of
// the file are kept as they are when it is rewritten.
//
// It is written by hand: the docker CLI's configfile package lives in a
// module that would bring most of the docker CLI into berth's.
//
// It imports the API's registry types only.
package dockerconfig
