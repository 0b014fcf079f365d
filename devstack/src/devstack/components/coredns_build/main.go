// CoreDNS for devstack's real node, built with only the plugins its cluster DNS
// uses (devstack/src/devstack/components/coredns.py builds it; ADR 0042).
//
// The release binary compiles every plugin of plugin.cfg, the cloud providers'
// SDKs among them; a cold build of this one skips them. A Corefile directive that
// is not listed here fails at start-up with "unknown directive".
package main

import (
	"log"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// directives is the execution order, a subsequence of CoreDNS v1.15.0's plugin.cfg
// (core/dnsserver/zdirectives.go); the order in a Corefile does not matter. They are
// what the node's Corefile uses (bind, errors, health, ready, kubernetes, cache), what
// cluster DNS is usually configured with (kubeadm's default Corefile: reload,
// prometheus, loadbalance, loop, forward), and log. A Corefile naming another fails
// at start.
var directives = []string{
	"reload",
	"bind",
	"ready",
	"health",
	"prometheus", // plugin/metrics
	"errors",
	"log",
	"loadbalance",
	"cache",
	"kubernetes",
	"loop",
	"forward",
}

func main() {
	if err := dnsserver.SetDirectives(directives); err != nil {
		log.Fatal(err)
	}
	coremain.Run()
}
