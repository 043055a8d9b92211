"""Conference Companion: a self-hosted companion web app for tech conferences."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build and wire the app. Importing the package does nothing else.

    :param test_config: settings that override the environment (tests use it).
    :raise RuntimeError: if the configuration is not usable (see :mod:`companion.config`).
    """
    from companion import assets, config, errors, security
    from companion.database import configure_engine
    from companion.accounts import access
    from companion.extensions import api_spec, compress, csrf, db, limiter, migrate
    from companion.idempotency import middleware as idempotency_middleware
    from companion.paths import resource_dir
    from companion.sessions import PublicAwareSessionInterface

    app = Flask(
        __name__,
        instance_path=(test_config or {}).get("INSTANCE_PATH") or config.instance_path_from_env(),
        instance_relative_config=True,
        static_folder=str(resource_dir("static")),
        template_folder=str(resource_dir("templates")),
    )
    config.load_config(app, test_config)
    app.session_interface = PublicAwareSessionInterface()
    hops = int(app.config["PROXY_HOPS"])
    if hops:
        # Behind nginx every request comes from 127.0.0.1: trust the proxies' headers instead.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.logger.setLevel(app.config["LOG_LEVEL"])

    import companion.models  # noqa: F401  (every model registered before the mappers configure)

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    compress.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    access.init_app(app)
    idempotency_middleware.init_app(app)
    errors.register_error_handlers(app)
    security.init_app(app)
    assets.init_app(app)

    from companion import api, offline_queue, pwa
    from companion.accounts import staff_views as account_staff_views
    from companion.accounts import views as account_views
    from companion.accounts import my_data_views
    from companion.schedule import staff_views as schedule_staff_views
    from companion.badges import api as badge_api
    from companion.badges import sheet_views as badge_sheet_views
    from companion.badges import views as badge_views
    from companion.schedule import api as schedule_api
    from companion.schedule import export_views
    from companion.schedule import views as schedule_views
    from companion.agenda import api as agenda_api
    from companion.agenda import views as agenda_views
    from companion.agenda import feed_views as agenda_feed_views

    app.register_blueprint(schedule_views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(schedule_api.bp)
    app.register_blueprint(export_views.bp)
    app.register_blueprint(pwa.bp)
    app.register_blueprint(offline_queue.bp)
    app.register_blueprint(account_views.bp)
    app.register_blueprint(my_data_views.bp)
    app.register_blueprint(schedule_staff_views.bp)
    app.register_blueprint(account_staff_views.bp)
    app.register_blueprint(badge_views.bp)
    app.register_blueprint(badge_sheet_views.bp)
    app.register_blueprint(badge_api.bp)
    app.register_blueprint(agenda_views.bp)
    app.register_blueprint(agenda_api.bp)
    app.register_blueprint(agenda_feed_views.bp)
    from companion.push import api as push_api
    from companion.push import staff_views as push_staff_views
    from companion.push import views as push_views

    app.register_blueprint(push_api.bp)
    from companion.hunt import api as hunt_api
    from companion.hunt import booth_views as hunt_booth_views
    from companion.hunt import staff_import_views  # noqa: F401 - adds the CSV import routes to hunt_staff
    from companion.hunt import staff_views as hunt_staff_views
    from companion.hunt import views as hunt_views

    app.register_blueprint(hunt_api.bp)
    app.register_blueprint(hunt_views.bp)
    app.register_blueprint(hunt_booth_views.bp)
    app.register_blueprint(hunt_staff_views.bp)
    app.register_blueprint(push_views.bp)
    app.register_blueprint(push_staff_views.bp)
    from companion.raffle import api as raffle_api
    from companion.raffle import card as raffle_card  # noqa: F401 - adds the raffle to the hunt card
    from companion.raffle import screen_views as raffle_screen_views
    from companion.raffle import staff_views as raffle_staff_views
    from companion.raffle import views as raffle_views

    app.register_blueprint(raffle_api.bp)
    app.register_blueprint(raffle_views.bp)
    app.register_blueprint(raffle_staff_views.bp)
    app.register_blueprint(raffle_screen_views.bp)
    from companion.voting import api as voting_api
    from companion.voting import staff_views as voting_staff_views
    from companion.voting import views as voting_views

    app.register_blueprint(voting_api.bp)
    app.register_blueprint(voting_views.bp)
    app.register_blueprint(voting_staff_views.bp)
    from companion.staff import views as staff_views

    app.register_blueprint(staff_views.bp)
    api_spec.register(app)

    from companion.accounts.attendee_cli import attendees_cli
    from companion.accounts.cli import users_cli
    from companion.badges.cli import badges_cli
    from companion.badges.conference_cli import conference_cli
    from companion.schedule.cli import schedule_cli
    from companion.agenda.cli import agenda_cli
    from companion.push.cli import push_cli
    from companion.raffle.cli import raffle_cli
    from companion.idempotency.cli import idempotency_cli

    # On app.cli, so `flask --app companion schedule ...` and `companion schedule ...` are the same.
    app.cli.add_command(schedule_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(badges_cli)
    app.cli.add_command(conference_cli)
    app.cli.add_command(attendees_cli)
    app.cli.add_command(agenda_cli)
    app.cli.add_command(push_cli)
    app.cli.add_command(raffle_cli)
    app.cli.add_command(idempotency_cli)
    return app
