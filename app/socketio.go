package app

// Placeholder until the protocol's decoder lands (issue 14); replaced by its owner.
var protoSocketIO = &protocol{name: "placeholder-socketio"}
var protoEngineIO = &protocol{name: "placeholder-engineio"}
