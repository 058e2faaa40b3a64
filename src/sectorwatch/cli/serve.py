"""serve: the web pages (subscribe, manage, unsubscribe, archive, authorities)."""

from __future__ import annotations

import ipaddress

import click

from sectorwatch.cli.root import Context, cli


def server(app, host: str, port: int, trusted_proxies: tuple[str, ...], *,
           header_timeout: float | None = None, per_client: int | None = None):
    """A uvicorn server for ``app``: no Server header, our logging, forwarded headers
    believed only from ``trusted_proxies``, a deadline for each request's head and a cap
    on each client's connections (sectorwatch.web.protocol). SIGTERM or Ctrl-C stops it
    gracefully and the process exits 0 (uvicorn itself raises the signal again once
    stopped)."""
    import uvicorn

    from sectorwatch.web import protocol

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()  # a stop asked for is a clean exit

    return Server(uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, server_header=False,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) or None, lifespan="on",
        timeout_graceful_shutdown=10, limit_concurrency=200,
        http=protocol.guarded(header_timeout or protocol.HEADER_TIMEOUT,
                              per_client or protocol.PER_CLIENT, tuple(trusted_proxies))))


@cli.command()
@click.option("--host", metavar="ADDRESS", help="Listen here (default: web.host, 127.0.0.1).")
@click.option("--port", type=int, help="Listen on this port (default: web.port).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text: key=value lines; json: one object per line.")
@click.pass_obj
def serve(obj: Context, host: str | None, port: int | None, log_format: str) -> None:
    """Serve the web pages until Ctrl-C or SIGTERM. The links in every digest point here
    (digest.base_url); put an HTTPS reverse proxy in front. Needs the signing secret in
    the environment variable named by web.secret_env."""
    from sectorwatch import logs
    from sectorwatch.logs import event
    from sectorwatch.store import Store
    from sectorwatch.tokens import signer_from_env
    from sectorwatch.web import create_app

    config = obj.config()
    settings = config.web
    signer = signer_from_env(settings.secret_env, settings.previous_secret_env)
    logs.configure(json_lines=log_format == "json")
    host, port = host or settings.host, port or settings.port
    import logging

    log = logging.getLogger("sectorwatch.web")
    try:
        public = not ipaddress.ip_address(host).is_loopback
    except ValueError:
        public = host != "localhost"
    if public:
        event(log, "web.public", f"listening on {host}, not loopback: make sure only your "
              "HTTPS proxy can reach it", level=logging.WARNING, host=host)
    with Store.open(config.database_url) as store:
        app = create_app(config, store, signer)
        event(log, "web.started", f"serving on http://{host}:{port}", host=host, port=port,
              base_url=config.digest.base_url)
        server(app, host, port, settings.trusted_proxies).run()
    event(log, "web.stopped", "stopped")
