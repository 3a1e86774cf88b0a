package codec

// decodeAs decodes data into a fresh T.
func decodeAs[T any, P interface {
	*T
	Value
}](key string, data []byte) (T, error) {
	var v T
	if err := Decode(key, data, P(&v)); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// DecodeHeartbeat decodes a heartbeat read from key.
func DecodeHeartbeat(key string, data []byte) (Heartbeat, error) {
	return decodeAs[Heartbeat](key, data)
}

// DecodeLeader decodes a leader record read from key.
func DecodeLeader(key string, data []byte) (Leader, error) {
	return decodeAs[Leader](key, data)
}

// DecodeEpoch decodes an epoch record read from key.
func DecodeEpoch(key string, data []byte) (Epoch, error) {
	return decodeAs[Epoch](key, data)
}

// DecodeWorkerAssignment decodes a worker's assignment entry read from key.
func DecodeWorkerAssignment(key string, data []byte) (WorkerAssignment, error) {
	return decodeAs[WorkerAssignment](key, data)
}

// DecodeCommit decodes a commit marker read from key.
func DecodeCommit(key string, data []byte) (Commit, error) {
	return decodeAs[Commit](key, data)
}

// DecodePartitionManifest decodes a partition manifest read from key.
func DecodePartitionManifest(key string, data []byte) (PartitionManifest, error) {
	return decodeAs[PartitionManifest](key, data)
}

// DecodePartitionChunk decodes a partition chunk read from key.
func DecodePartitionChunk(key string, data []byte) (PartitionChunk, error) {
	return decodeAs[PartitionChunk](key, data)
}

// DecodeStatus decodes a calculator status read from key.
func DecodeStatus(key string, data []byte) (Status, error) {
	return decodeAs[Status](key, data)
}

// DecodeHistory decodes a rebalance history read from key.
func DecodeHistory(key string, data []byte) (History, error) {
	return decodeAs[History](key, data)
}

// DecodeControlReply decodes a control reply received on subject.
func DecodeControlReply(subject string, data []byte) (ControlReply, error) {
	return decodeAs[ControlReply](subject, data)
}
