"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi …"""
from obcms import create_app

app = create_app()
