"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi …"""
import gc

from obcms import create_app

app = create_app()
# What is loaded by now (modules, mappers, compiled templates and statements) lives as long as the process:
# freezing it keeps the collector's full passes from walking it again, each a pause of ~0.2 s for every
# thread of a gunicorn worker.
gc.freeze()
