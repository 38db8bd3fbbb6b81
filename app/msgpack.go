package app

// Placeholder until the protocol's decoder lands (issue 14); replaced by its owner.
var protoMsgpack = &protocol{name: "placeholder-msgpack"}

// bareBinary annotates a binary message of a connection no protocol
// claimed (MessagePack or CBOR maps).
func bareBinary(m *Msg, r *Result) {}
