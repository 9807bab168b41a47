"""WSGI entry point: `flask run`, `gunicorn app:app`."""

from ktt_market import create_app

app = create_app()
