/**
 * @berth/client: typed Docker Engine API client over a UNIX socket or plain TCP, for berthd and dockerd.
 *
 * @since 0.1.0
 */
export * from "./AttachStream.ts";
export * from "./Client.ts";
export * from "./ClientOptions.ts";
export * from "./connectError.ts";
export * from "./DockerHost.ts";
export * from "./encodeQuery.ts";
export * from "./errorFromResponse.ts";
export * from "./HttpResponse.ts";
export * from "./ResponseParser.ts";
export * from "./sendRequest.ts";
export * from "./statusText.ts";
