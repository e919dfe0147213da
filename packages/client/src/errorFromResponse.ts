import { fromStatus } from "@berth/errdefs";
import type { RawResponse } from "./ClientOptions.ts";
import { statusText } from "./statusText.ts";

/** errorFromResponse maps a non-2xx answer to the errdefs kind, with the daemon's message. */
export function errorFromResponse(res: RawResponse): Error {
  const text = res.body.toString("utf8").trim();
  let message = text;
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === "string") message = parsed.message;
    } catch {
      // not JSON after all: keep the text
    }
  }
  if (message === "") message = `${res.status} ${statusText(res.status)}`;
  return fromStatus(res.status, message, { code: `HTTP_${res.status}` });
}
