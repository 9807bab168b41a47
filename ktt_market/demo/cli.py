from flask.cli import AppGroup

demo = AppGroup("demo", help="Demo data.")
