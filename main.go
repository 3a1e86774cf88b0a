// Command parti keeps weighted partitions spread over a changing fleet of
// worker processes, coordinated through NATS JetStream key-value buckets.
package main

import (
	"os"

	"github.com/parti-dev/parti/cmd"
)

func main() {
	os.Exit(cmd.Execute())
}
