from flask import Blueprint

bp = Blueprint("registry", __name__, url_prefix="/registry")


@bp.get("/")
def index():
    return "todo"


@bp.get("/applications")
def applications():
    return "todo"


@bp.get("/mine")
def my_units():
    return "todo"
