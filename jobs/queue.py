"""The Redis connection and RQ queue, when REDIS_URL is configured."""
from flask import current_app


def redis_connection(url=None):
    from redis import Redis

    return Redis.from_url(url or current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)


def rq_queue(connection=None):
    from rq import Queue

    return Queue(current_app.config["RQ_QUEUE"], connection=connection or redis_connection())
