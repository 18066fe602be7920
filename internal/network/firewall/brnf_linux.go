package firewall

import (
	"bytes"
	"fmt"
	"os"
)

// bridgeNFCall is the switch that sends packets bridged between two ports
// of one bridge through the IPv4 netfilter hooks (br_netfilter). Without
// it, traffic between containers on one bridge never meets a FORWARD rule
// and ICC off cannot be enforced; dockerd turns it on for the same reason.
const bridgeNFCall = "/proc/sys/net/bridge/bridge-nf-call-iptables"

// enableBridgeNF turns bridgeNFCall on in the calling thread's network
// namespace. A kernel without br_netfilter is an error: ICC off cannot be
// honoured there.
func enableBridgeNF() error {
	cur, err := os.ReadFile(bridgeNFCall)
	if err != nil {
		return fmt.Errorf("firewall: ICC off needs br_netfilter: %w", err)
	}
	if bytes.Equal(bytes.TrimSpace(cur), []byte("1")) {
		return nil
	}
	if err := os.WriteFile(bridgeNFCall, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("firewall: ICC off: %w", err)
	}
	return nil
}
