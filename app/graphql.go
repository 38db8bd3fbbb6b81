package app

// Placeholder until the protocol's decoder lands (issue 14); replaced by its owner.
var protoGraphQLTransportWS = &protocol{name: "placeholder-graphqltransportws"}
var protoSubscriptionsTransportWS = &protocol{name: "placeholder-subscriptionstransportws"}
