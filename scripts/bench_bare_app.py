"""The baseline for the catalogue benchmark: a bare Flask route, served by gunicorn like the real app."""

from flask import Flask

app = Flask(__name__)

PAGE = "<!doctype html><html lang=vi><title>KTT</title><p>Xin chào</p></html>"


@app.get("/")
def hello() -> str:
    return PAGE
