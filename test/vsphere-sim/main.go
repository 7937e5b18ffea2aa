// vcsim for PoolParty's tests: govmomi's vSphere simulator (a VPX inventory: DC0, clusters,
// hosts, VMs such as DC0_H0_VM0) serving /sdk over https with a self-signed certificate on a
// loopback address. It prints its URL (user:pass@host:port/sdk) on one stdout line once it listens
// and runs until killed. Built by scripts/build-vcsim.sh from Debian's golang-github-vmware-govmomi-dev.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "loopback address:port to listen on (port 0: any free port)")
	idle := flag.Duration("session-idle", 0, "expire sessions idle this long (0: never)")
	flag.Parse()

	simulator.SessionIdleTimeout = *idle
	model := simulator.VPX()
	defer model.Remove()
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	installPaging(model.ServiceContent.PropertyCollector)
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword("user", "pass")}
	model.Service.TLS = new(tls.Config)
	server := model.Service.NewServer()
	defer server.Close()
	fmt.Println(server.URL.String())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
