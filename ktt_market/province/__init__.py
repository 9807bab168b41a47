"""Province administration: the annual collective-economy report (and the participation dashboard)."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the area's pages and commands."""
    from .cli import report_cli
    from .dashboard_views import bp as dashboard_bp
    from .report_views import bp as reports_bp

    app.register_blueprint(reports_bp)
    app.register_blueprint(dashboard_bp)
    app.cli.add_command(report_cli)
