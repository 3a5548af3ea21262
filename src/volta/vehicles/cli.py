"""`volta models from-epa`: a vehicle model file from a row of the EPA Test Car List."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

models = typer.Typer(help="Vehicle models.", no_args_is_help=True)


@models.command("from-epa")
def from_epa(
    csv_path: Annotated[Path, typer.Argument(help="EPA Test Car List CSV (battery-EV rows)")],
    line: Annotated[int, typer.Option(help="line of the row in the CSV (header = line 1)")],
    out: Annotated[Path, typer.Option(help="where to write the .toml model file")],
    usable_kwh: Annotated[
        float, typer.Option(help="usable battery energy (not in the list)")
    ] = 75.0,
    dc_peak_kw: Annotated[
        float, typer.Option(help="peak DC charging power (not in the list)")
    ] = 150.0,
) -> None:
    """Write a model file from one row; print its wall energy on the row's cycle vs the dyno."""
    from volta.vehicles.cycles import wall_wh_per_km
    from volta.vehicles.epa import (
        measured_wall_wh_per_km,
        model_from_epa,
        read_drivetrain_specs,
        read_test_cars,
        tech_spec,
        usable,
    )
    from volta.vehicles.model import ModelError, load_model
    from volta.vehicles.model_file import model_toml

    try:
        rows = {t.line: t for t in read_test_cars(csv_path)}
        if line not in rows:
            raise ModelError(f"{csv_path}: no data row at line {line}")
        test = rows[line]
        tech = tech_spec(test, read_drivetrain_specs())
        model = model_from_epa(test, usable_kwh=usable_kwh, dc_peak_kw=dc_peak_kw, tech=tech)
        out.write_text(
            model_toml(model, f"Written by `volta models from-epa {csv_path.name} --line {line}`"),
            encoding="utf-8",
        )
        load_model(str(out))  # what was written must load back
    except (ModelError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"wrote {out} ({model.display_name})")
    typer.echo(f"drivetrain: {model.sources['drivetrain']}")
    reason = usable(test)
    if reason is None and test.cycle is not None:
        predicted = wall_wh_per_km(model, test.cycle)
        measured = measured_wall_wh_per_km(test)
        typer.echo(
            f"{test.cycle}: model {predicted:.1f} Wh/km from the wall, EPA dyno {measured:.1f}"
            f" Wh/km ({predicted / measured - 1:+.1%})"
        )
    else:
        typer.echo(f"not compared with the dyno: {reason}")


@models.command("check-epa")
def check_epa(
    csv_path: Annotated[Path, typer.Argument(help="EPA Test Car List CSV (battery-EV rows)")],
    rows: Annotated[bool, typer.Option(help="also print every row's error")] = False,
) -> None:
    """The shared drivetrain against every usable row: in-sample, leave one maker out and
    leave one maker group out (Audi + Porsche + Volkswagen, Hyundai + Kia)."""
    from volta.vehicles.epa import SHARED_DRIVETRAIN, maker, maker_group, read_test_cars, usable
    from volta.vehicles.epa_fit import cross_validate, validate
    from volta.vehicles.model import ModelError

    try:
        tests = read_test_cars(csv_path)
    except (ModelError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    shipped = validate(tests)
    fit, held_out = cross_validate(tests)
    _, by_group = cross_validate(tests, by=maker_group)
    by_line = {t.line: t for t in tests}
    if rows:
        for line, err in shipped.errors.items():
            t = by_line[line]
            typer.echo(
                f"line {line:4d} {maker(t):14s} {t.model[:34]:34s} {t.cycle:5s}"
                f" {err:+7.1%} (held out {held_out.errors[line]:+7.1%},"
                f" group {by_group.errors[line]:+7.1%})"
            )
    for t in tests:
        reason = usable(t)
        if reason is not None:
            typer.echo(f"left out: line {t.line} {t.make} {t.model}: {reason}")
    for name, v in (
        ("shipped drivetrain, in-sample", shipped),
        ("leave one maker out", held_out),
        ("leave one maker group out", by_group),
    ):
        line, err = v.worst()
        t = by_line[line]
        typer.echo(
            f"{name}: {len(v.errors)} rows, MAE {v.mae():.2%}, median {v.median():.2%}"
            f" (UDDS MAE {v.mae('udds'):.2%}, HWFET {v.mae('hwfet'):.2%});"
            f" worst line {line} {t.make} {t.model} {t.cycle} {err:+.1%}"
        )
    d = SHARED_DRIVETRAIN
    typer.echo(
        f"fit on all rows: regen_fraction {fit.regen_fraction}, charge_efficiency"
        f" {fit.charge_efficiency}, idle W per extra motor {fit.unit_idle_w:g}, two-speed idle W"
        f" {fit.two_speed_idle_w:g}, SiC loss reduction {fit.sic_loss_reduction:g} (shipped:"
        f" {d.regen_fraction}, {d.charge_efficiency}, {d.unit_idle_w:g}, {d.two_speed_idle_w:g},"
        f" {d.sic_loss_reduction:g})"
    )


def register(app: typer.Typer) -> None:
    """Add `volta models ...` to the CLI."""
    app.add_typer(models, name="models")
