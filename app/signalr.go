package app

// Placeholder until the protocol's decoder lands (issue 14); replaced by its owner.
var protoSignalR = &protocol{name: "placeholder-signalr"}
