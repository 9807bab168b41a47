"""Celery entry point: `celery -A workers.celery_app worker`."""

from ktt_market import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
