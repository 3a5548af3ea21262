"""Fleet reliability: rates by model × version × month, distance between faults, top issues
and the software-linked code named with its version and hardware variant."""

from __future__ import annotations

from volta.diagnostics.reliability import Exposure, Occurrence, reliability

DAY = 86_400_000
D0 = 20_460  # 2026-01-07, a day number


def _fleet() -> tuple[list[Occurrence], list[Exposure]]:
    occ: list[Occurrence] = []
    exp: list[Exposure] = []
    days = frozenset(range(D0, D0 + 30))
    for i in range(40):
        version = "2.4.0" if i % 2 else "2.3.1"
        variant = "bms-b" if i % 4 >= 2 else "bms-a"
        vin = f"V{i:02d}"
        exp.append(Exposure(vin, "Model V", version, variant, days, 1500.0))
        n = 6 if (version, variant) == ("2.4.0", "bms-b") else (1 if i % 5 == 0 else 0)
        occ += [
            Occurrence(vin, "U1A40", (D0 + k * 4) * DAY, "Model V", version, variant)
            for k in range(n)
        ]
    occ.append(Occurrence("V00", "C1A00", (D0 + 1) * DAY, "Model V", "2.3.1", "bms-a"))
    return occ, exp


def test_the_software_linked_code_is_named_with_version_and_variant() -> None:
    occ, exp = _fleet()
    rel = reliability(occ, exp)
    (link,) = rel.software_links
    assert (link.code, link.version, link.variant) == ("U1A40", "2.4.0", "bms-b")
    # 60 on 10 cars × 30 days vs 2 on the same variant's 10 cars on the other version
    assert link.ratio == 30.0 and link.occurrences == 60 and link.vehicles == 10
    assert link.message == (
        "Since software version 2.4.0, DTC U1A40 is 30.0 times more frequent on hardware "
        "variant bms-b"
    )


def test_rates_by_model_version_month_distance_and_top_issues() -> None:
    occ, exp = _fleet()
    rel = reliability(occ, exp)
    months = {(r.version, r.month): r for r in rel.rates}
    jan = months[("2.4.0", "2026-01")]
    assert jan.vehicles == 20 and jan.vehicle_days == 20 * 25  # Jan 7–31
    assert jan.occurrences == sum(
        1 for o in occ if o.version == "2.4.0" and o.ts_ms < (D0 + 25) * DAY
    )
    assert rel.mean_km_between_faults == {"Model V": round(40 * 1500.0 / len(occ), 1)}
    assert rel.top_issues[0].code == "U1A40" and rel.top_issues[1].code == "C1A00"
    assert rel.top_issues[1].description == "Tyre pressure low, front left"


def test_a_code_spread_evenly_is_not_linked_to_software() -> None:
    occ, exp = _fleet()
    even = [o for o in occ if o.code != "U1A40"] + [
        Occurrence(e.vin, "U1A40", D0 * DAY, e.model, e.version, e.variant) for e in exp
    ]
    assert reliability(even, exp).software_links == ()
