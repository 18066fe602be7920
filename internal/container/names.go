package container

import (
	"math/rand/v2"
	"strconv"
)

// Word lists for generated names, berth's own: an adjective and the
// surname of someone who shaped computing or science.
var (
	adjectives = []string{
		"agile", "amber", "ardent", "bold", "brave", "bright", "calm", "candid", "careful", "cheerful",
		"civil", "clever", "cosmic", "crisp", "curious", "daring", "deft", "diligent", "eager", "earnest",
		"elated", "epic", "fervent", "fond", "frank", "gentle", "glad", "golden", "graceful", "hardy",
		"honest", "humble", "jolly", "keen", "kind", "lively", "lucid", "merry", "mellow", "mindful",
		"modest", "nimble", "noble", "patient", "placid", "plucky", "polite", "proud", "quiet", "radiant",
		"rapid", "serene", "sharp", "silent", "sincere", "snappy", "spry", "steady", "sturdy", "sunny",
		"swift", "tender", "tidy", "tranquil", "trusty", "upbeat", "valiant", "vivid", "warm", "witty",
		"zealous", "zen",
	}
	surnames = []string{
		"abel", "agnesi", "babbage", "backus", "bardeen", "bohr", "boole", "cantor", "cerf", "chebyshev",
		"codd", "conway", "curie", "dijkstra", "euclid", "euler", "faraday", "fermat", "feynman", "fourier",
		"gauss", "goedel", "hamming", "hilbert", "hopper", "huffman", "hypatia", "kahan", "karp", "kepler",
		"knuth", "kolmogorov", "lamport", "laplace", "leibniz", "liskov", "lovelace", "maxwell", "mccarthy", "meitner",
		"minsky", "napier", "neumann", "newton", "noether", "nyquist", "pascal", "perlman", "planck", "poincare",
		"ramanujan", "riemann", "ritchie", "shannon", "shockley", "somerville", "stallman", "sutherland", "tarjan", "tesla",
		"thompson", "torvalds", "turing", "wiles", "wing", "wirth", "yalow", "zuse",
	}
)

// GenerateName returns a free name such as "/nimble_lovelace". taken says
// whether a name (with its "/") is in use; after a few collisions a digit
// is appended, as docker does.
func GenerateName(taken func(name string) bool) string {
	for i := 0; ; i++ {
		n := "/" + adjectives[rand.IntN(len(adjectives))] + "_" + surnames[rand.IntN(len(surnames))]
		if i >= 5 {
			n += strconv.Itoa(rand.IntN(10))
		}
		if taken == nil || !taken(n) {
			return n
		}
	}
}
