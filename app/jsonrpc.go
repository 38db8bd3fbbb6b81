package app

// Placeholder until the protocol's decoder lands (issue 14); replaced by its owner.
var protoJSONRPC = &protocol{name: "placeholder-jsonrpc"}
