"""The Redis connection and RQ queue, when REDIS_URL is configured."""
from flask import current_app, has_app_context
from redis import Redis
from rq import Queue


def redis_connection(url=None):
    """The app's client for `url` (REDIS_URL by default): one per process and URL, with its connection pool.
    A new client per call opened a TCP connection each time and read the package's metadata for its
    handshake, which made every /health probe and every enqueue cost about a millisecond more. The pool
    reconnects by itself after Redis restarts, and again in a forked process. Outside an application (a
    script naming the URL) the client is new."""
    if not has_app_context():
        return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    url = url or current_app.config["REDIS_URL"]
    clients = current_app.extensions.setdefault("obcms.redis", {})
    client = clients.get(url)
    if client is None:
        client = clients[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return client


def rq_queue(connection=None):
    return Queue(current_app.config["RQ_QUEUE"], connection=connection or redis_connection())
