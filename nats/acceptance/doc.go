// Package acceptance holds end-to-end tests of the NATS adapters together
// (identity, election, store, membership) on real embedded servers,
// including a 3-node cluster with replicated buckets, and measurements of
// put, watch and expiry-detection latency. It has no non-test code.
package acceptance
