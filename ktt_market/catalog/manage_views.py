from flask import Blueprint

bp = Blueprint("catalog_manage", __name__, url_prefix="/manage")
