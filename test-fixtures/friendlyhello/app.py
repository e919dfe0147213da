"""The seed's friendlyhello app, on the standard library only (PyPI is unreachable here).

GET / answers an HTML greeting with the NAME environment variable (Dockerfile: ENV NAME World)
and the container's hostname, so `curl localhost:4000` shows "Hello World!".
"""
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        html = (
            "<h3>Hello {name}!</h3>"
            "<b>Hostname:</b> {hostname}<br/>"
            "<b>Visits:</b> {visits}"
        ).format(
            name=os.getenv("NAME", "world"),
            hostname=socket.gethostname(),
            visits="<i>cannot connect to Redis, counter disabled</i>",
        )
        body = html.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("%s - %s" % (self.address_string(), fmt % args), flush=True)


if __name__ == "__main__":
    port = int(os.getenv("PORT", "80"))
    print("serving on port %d" % port, flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Hello).serve_forever()
