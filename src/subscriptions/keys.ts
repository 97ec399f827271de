// Engine keys per subscription. The counter and the log of one subscription share a hash tag so
// the numbering step (one Lua script touching both) runs on one Redis Cluster slot.
export const eventCounterKey = (subscriptionId: string) => `{sub:${subscriptionId}}:seq`;
export const eventLogKey = (subscriptionId: string) => `{sub:${subscriptionId}}:log`;
