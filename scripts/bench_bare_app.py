"""The baseline for the HTTP benchmarks: a bare Flask app, served by gunicorn like the real app.

Every path answers the same small page, so that a load made for the app's pages (home, search,
product) can be sent to it unchanged.
"""

from flask import Flask

app = Flask(__name__)

PAGE = "<!doctype html><html lang=vi><title>KTT</title><p>Xin chào</p></html>"


@app.get("/")
@app.get("/<path:path>")
def hello(path: str = "") -> str:
    return PAGE
