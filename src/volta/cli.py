"""The `volta` command line. Each capability registers its own commands here."""

from __future__ import annotations

from typing import Any

import typer

# typer carries its own copy of click; its groups take that copy's Context.
from typer._click import Context
from typer.core import TyperGroup

from volta.errors import ConfigError, VoltaError


class _Root(TyperGroup):
    """The `volta` group. An error Volta raised on purpose carries the reason a user sees: it
    is printed as one line, not a traceback; exit status 2 for a configuration problem (fix
    it and run again), 1 for any other (a server down, a refused request)."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except VoltaError as e:
            typer.echo(f"volta {ctx.invoked_subcommand}: {e}", err=True)
            raise typer.Exit(2 if isinstance(e, ConfigError) else 1) from None


app = typer.Typer(
    cls=_Root,
    name="volta",
    help="Volta: open platform for connected electric vehicles.",
    no_args_is_help=True,
    add_completion=False,
)


_registered = False


def _register_all() -> None:
    """Add every capability's commands to `app` (once)."""
    global _registered
    if _registered:
        return
    _registered = True
    # Imported here so that `volta --help` stays fast and one broken capability is visible
    # as an import error of its own module.
    from volta.api.cli import register as register_serve
    from volta.broker.cli import register as register_broker
    from volta.demo import register as register_demo
    from volta.doctor import register as register_doctor
    from volta.ingest.cli import register as register_send
    from volta.ota.cli import register as register_ota
    from volta.processors.cli import register as register_recompute
    from volta.registry.cli import register as register_registry
    from volta.service.cli import register as register_service
    from volta.sim.cli import register as register_sim
    from volta.store.cli import register as register_migrate
    from volta.vehicles.cli import register as register_models

    register_sim(app)
    register_serve(app)
    register_registry(app)
    register_broker(app)  # adds `vehicles provision` to the registry's group
    register_send(app)
    register_recompute(app)
    register_demo(app)
    register_migrate(app)
    register_doctor(app)
    register_ota(app)
    register_models(app)
    register_service(app)


def main() -> None:
    _register_all()
    app()


if __name__ == "__main__":
    main()
