/**
 * @berth/api: Docker Engine API types generated from the swagger, and the wire codecs shared by
 * berthd and @berth/client (multiplexed frames, JSON-lines progress, version negotiation), and
 * docker's zero values for the objects both sides build (`zeroHostConfig`).
 *
 * @since 0.1.0
 */
export * from "./defaults.ts";
export * from "./demux.ts";
export * from "./Frame.ts";
export * from "./FrameDecoder.ts";
export * from "./GoDuration.ts";
export type * from "./generated/types.ts";
export * from "./JSONMessage.ts";
export * from "./MediaTypes.ts";
export * from "./Version.ts";
