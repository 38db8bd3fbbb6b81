package app

// Placeholder until the protocol's decoder lands (issue 14); replaced by its owner.
var protoProtobuf = &protocol{name: "placeholder-protobuf"}

// Schema is a protobuf message type loaded from a .proto file (--proto).
type Schema struct{}
