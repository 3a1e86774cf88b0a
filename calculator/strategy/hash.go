package strategy

// The strategies hash partition keys and worker IDs with 64-bit FNV-1a
// followed by a murmur3-style finalizer. FNV-1a alone is deterministic but
// mixes its last bytes poorly (keys such as "p-000001" and "p-000002" land
// close together); the finalizer spreads every input bit over the whole word.
//
// The function is fixed forever: two leaders, possibly on different
// machines, architectures or releases, must place partitions identically.
// hash/maphash is unsuitable because its seed differs per process.

const (
	fnvOffset64 uint64 = 14695981039346656037
	fnvPrime64  uint64 = 1099511628211
)

// fnv1a returns the 64-bit FNV-1a hash of s.
func fnv1a(s string) uint64 {
	h := fnvOffset64
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// fnvAddByte folds one byte into the FNV-1a state h.
func fnvAddByte(h uint64, b byte) uint64 {
	h ^= uint64(b)
	return h * fnvPrime64
}

// mix64 is the 64-bit finalizer of MurmurHash3: a bijection with full
// avalanche.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// hashKey returns the placement hash of a partition key or worker ID.
func hashKey(s string) uint64 {
	return mix64(fnv1a(s))
}

// hashVNode returns the ring position of virtual node i of worker: the hash
// of the string worker+"#"+decimal(i), computed without building it.
func hashVNode(worker string, i int) uint64 {
	h := fnvAddByte(fnv1a(worker), '#')
	var buf [20]byte
	n := len(buf)
	u := uint64(i)
	for {
		n--
		buf[n] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	for _, b := range buf[n:] {
		h = fnvAddByte(h, b)
	}
	return mix64(h)
}
