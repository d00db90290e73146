#!/usr/bin/env python3
"""moto's DynamoDB server, handling one request at a time.

moto_server serves requests on parallel threads, but its TransactWriteItems is not thread-safe: it deep-copies whole
tables as a snapshot and restores the snapshot when a transaction fails, so under concurrency it resurrects or drops
other requests' writes (seen here: 3 winners out of 20 racing userName creates; a member's user item "missing" in a
transaction). Real DynamoDB transactions are serialisable. Serialising requests gives moto that atomicity; connections
are still accepted concurrently.

Usage: moto_serialized.py [-H 127.0.0.1] [-p 8000]
"""

import argparse
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=8000)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("listen on loopback only")
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            # Materialise the body inside the lock: the response is computed lazily otherwise.
            return list(app(environ, start_response))

    run_simple(args.host, args.port, serialized, threaded=True)


if __name__ == "__main__":
    main()
