"""The Redis connection and RQ queue, when REDIS_URL is configured."""
from flask import current_app
from redis import Redis
from rq import Queue


def redis_connection(url=None):
    return Redis.from_url(url or current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)


def rq_queue(connection=None):
    return Queue(current_app.config["RQ_QUEUE"], connection=connection or redis_connection())
