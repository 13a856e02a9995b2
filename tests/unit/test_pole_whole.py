"""The whole pole: docs/engineering/pole.md, recomputed by hand.

The 12 m octagonal Kunming pole of the worked example is recomputed here from the formulas the
document writes out (GB 50009 βz with θB·θv, GB 55001 combinations, GB 50011 first-mode seismic
forces, the P-Δ amplification, βgz for the brackets), with the section properties from the
closed forms and the door's cut section from a rectangle taken out of one face. None of it calls
`ycsa_conform.engineering`; the calculator is then compared with these numbers, and every
number the document prints appears below as a literal.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.engineering import pole, section, seismic, wind
from ycsa_conform.units import Quantity

DOC = Path(__file__).parents[2] / "docs" / "engineering" / "pole.md"

# --- inputs of the worked example -------------------------------------------------------------

H, N_SIDES, SLICES = 12.0, 8, 10
# (bottom m, base across flats m, top across flats m, wall m), bottom up
SEGMENTS = [(0.0, 0.320, 0.235, 0.008), (6.0, 0.225, 0.150, 0.006)]
DOOR_BOTTOM, DOOR_HEIGHT, DOOR_WIDTH = 0.6, 0.5, 0.120
W0, MU_Z, MU_S = 0.30, 0.65, 1.45  # Kunming 50 y; terrain C below 15 m; EN octagon (U)
BETA_GZ = 2.05  # Table 8.6.1, terrain C below 15 m
F1 = 2.30  # Hz, from the design's modal calculation
E, RHO, G = 206e9, 7850.0, 9.80665
F_Q355 = 305.0  # N/mm²
# name, kg, m², m, arm m (None: √A/2); μs 1.3
EQUIPMENT: list[tuple[str, float, float, float, float | None]] = [
    ("luminaire", 15.0, 0.30, 12.0, 1.5),
    ("5G small cell", 30.0, 0.30, 10.0, None),
    ("camera", 8.0, 0.06, 8.0, 0.5),
    ("LED screen", 40.0, 1.20, 4.0, None),
]
ALPHA_MAX, TG, ZETA = 0.16, 0.45, 0.02  # intensity 8 (0.20 g); site class II, group 3

THETA = math.pi / N_SIDES
TAN = math.tan(THETA)


def _size(z: float, below: bool = False) -> tuple[float, float]:
    """(across flats, wall) at height z; the upper segment at the joint unless `below`."""
    lower = z < 6.0 or (z == 6.0 and below)
    b0, f0, f1, t = SEGMENTS[0] if lower else SEGMENTS[1]
    return f0 + (f1 - f0) * (z - b0) / 6.0, t


def _octagon(f: float, t: float) -> tuple[float, float, float]:
    """A, I, W (corner fibre) from the closed forms of docs/engineering/polygonal.md."""
    ao, ai = f / 2, f / 2 - t
    area = N_SIDES * TAN * (ao**2 - ai**2)
    second = N_SIDES * TAN * (3 + TAN**2) / 12 * (ao**4 - ai**4)
    return area, second, second / (ao / math.cos(THETA))


def _theta_v(ratio: float) -> float:
    # Table 8.4.6 (U) between 0.4 (2.08) and 0.5 (1.75).
    assert 0.4 <= ratio <= 0.5
    return 1.75 + (2.08 - 1.75) * (0.5 - ratio) / 0.1


def _beta(z: float, theta: float = 1.0) -> float:
    # GB 50009-2012 8.4, terrain C: k 0.404, a1 0.292, I10 0.23, kw 0.54, ξ 0.01, g 2.5.
    x1 = 30 * F1 / math.sqrt(0.54 * W0)
    r2 = math.pi / 0.06 * x1**2 / (1 + x1**2) ** (4 / 3)
    rho_z = 10 * math.sqrt(H + 60 * math.exp(-H / 60) - 60) / H
    xi = z / H
    phi = (6 * xi**2 - 4 * xi**3 + xi**4) / 3
    b_z = 0.404 * H**0.292 * rho_z * phi / MU_Z * theta
    return 1 + 2 * 2.5 * 0.23 * b_z * math.sqrt(1 + r2)


def _door() -> dict[str, float]:
    """The cut section at the door's bottom: a b × t rectangle out of the face facing +y."""
    f, t = _size(DOOR_BOTTOM)
    area, second, modulus = _octagon(f, t)
    ao, ai, b, s = f / 2, f / 2 - t, DOOR_WIDTH, DOOR_WIDTH / 2
    assert b <= 2 * ai * TAN  # the door lies within one face
    cut_a = b * t
    cut_sy = b * t * (ao + ai) / 2
    cut_yy = b * (ao**3 - ai**3) / 3
    cut_xx = t * b**3 / 12
    net = area - cut_a
    shift = cut_sy / net
    i_x = second - cut_yy - net * shift**2
    i_y = second - cut_xx
    corner = ao / math.cos(THETA)
    vertices = [
        (corner * math.cos(math.pi / 2 + THETA + 2 * THETA * k),
         corner * math.sin(math.pi / 2 + THETA + 2 * THETA * k))
        for k in range(N_SIDES)
    ]  # fmt: skip
    fibres = [(x, y) for x, y in vertices if abs(x) > s or y <= 0] + [(s, ao), (-s, ao)]
    worst = max(
        abs(math.cos(p) * (y + shift) / i_x - math.sin(p) * x / i_y)
        for p in (math.radians(k / 10) for k in range(3600))
        for x, y in fibres
    )
    return {
        "f": f,
        "full A": area,
        "full I": second,
        "full W": modulus,
        "cut A": cut_a,
        "A": net,
        "shift": shift,
        "Ix": i_x,
        "Iy": i_y,
        "W door side": i_x / (ao + shift),
        "W far side": i_x / (ao - shift),
        "W flank": i_y / ao,
        "W": 1 / worst,
    }


def _deflect(points: list[float], loads: list[tuple[float, float]], st: list[Any]) -> list[float]:
    """Unit-load method, midpoint rule: y(p) = Σ M(z_i)·max(p − z_i, 0)·Δz_i/(E·I_i)."""
    out = []
    for p in points:
        total = 0.0
        for zi, dz, second in st:
            m = sum(f * 1e3 * (z - zi) for z, f in loads if z > zi)  # kN → N
            total += m * max(p - zi, 0.0) * dz / (E * second)
        out.append(total)
    return out


def _by_hand() -> dict[str, Any]:
    bounds = sorted({round(i * H / SLICES, 9) for i in range(SLICES + 1)} | {DOOR_BOTTOM, 6.0})
    zs = [(a + b) / 2 for a, b in itertools.pairwise(bounds)]
    dzs = [b - a for a, b in itertools.pairwise(bounds)]
    sizes = [_size(z) for z in zs]
    props = [_octagon(f, t) for f, t in sizes]
    st = [(z, dz, p[1]) for z, dz, p in zip(zs, dzs, props, strict=True)]
    f_base, f_top = SEGMENTS[0][1], SEGMENTS[1][2]
    theta_v = _theta_v(f_top / f_base)

    def theta(z: float) -> float:
        return _size(min(z, H), below=z >= H)[0] / f_base * theta_v

    def used(z: float) -> float:
        return max(_beta(z), _beta(z, theta(z)))

    wind_slices = [
        used(z) * MU_S * MU_Z * W0 * f / math.cos(THETA) * dz
        for z, dz, (f, _) in zip(zs, dzs, sizes, strict=True)
    ]
    plain_slices = [
        _beta(z) * MU_S * MU_Z * W0 * f / math.cos(THETA) * dz
        for z, dz, (f, _) in zip(zs, dzs, sizes, strict=True)
    ]
    wind_att = [used(z) * 1.3 * MU_Z * W0 * a for _, _, a, z, _ in EQUIPMENT]
    plain_att = [_beta(z) * 1.3 * MU_Z * W0 * a for _, _, a, z, _ in EQUIPMENT]
    heights = zs + [z for _, _, _, z, _ in EQUIPMENT]
    wind_k = list(zip(heights, wind_slices + wind_att, strict=True))  # kN
    dead = list(
        zip(
            heights,
            [RHO * p[0] * dz * G / 1000 for p, dz in zip(props, dzs, strict=True)]
            + [kg * G / 1000 for _, kg, _, _, _ in EQUIPMENT],
            strict=True,
        )
    )  # kN

    # GB 50011 first mode: X from the sideways self-weight shape, normalised to 1 at the top.
    shape = _deflect(heights, dead, st)
    x = [y / max(shape) for y in shape]
    sum_xg = sum(xi * g for xi, (_, g) in zip(x, dead, strict=True))
    sum_x2g = sum(xi * xi * g for xi, (_, g) in zip(x, dead, strict=True))
    gamma1 = sum_xg / sum_x2g
    t1 = 1 / F1
    gamma = 0.9 + (0.05 - ZETA) / (0.3 + 6 * ZETA)
    eta2 = 1 + (0.05 - ZETA) / (0.08 + 1.6 * ZETA)
    assert 0.1 <= t1 <= TG  # the plateau
    alpha1 = eta2 * ALPHA_MAX
    quake = [(z, alpha1 * gamma1 * xi * g) for xi, (z, g) in zip(x, dead, strict=True)]

    combos = {
        "1.0×(1.3G + 1.5W)": (1.3, [(z, 1.5 * f) for z, f in wind_k], F_Q355),
        "1.0×(1.0G + 1.5W)": (1.0, [(z, 1.5 * f) for z, f in wind_k], F_Q355),
        "G + W": (1.0, wind_k, None),
        "1.2G + 1.3E + 0.2×1.4W": (
            1.2,
            [(z, 1.3 * f) for z, f in quake] + [(z, 0.28 * f) for z, f in wind_k],
            F_Q355 / 0.75,
        ),
        "G + E": (1.0, quake, None),
    }
    door = _door()
    at_base = _octagon(*_size(0.0))
    below, above = _octagon(*_size(6.0, below=True)), _octagon(*_size(6.0))
    locations = {
        "base": (0.0, [(at_base[0], at_base[2])]),
        "door": (DOOR_BOTTOM, [(door["A"], door["W"])]),
        "section change": (6.0, [(below[0], below[2]), (above[0], above[2])]),
    }
    results: dict[tuple[str, str], dict[str, float]] = {}
    for name, (gamma_g, lateral, strength) in combos.items():
        points = [*heights, 0.0, DOOR_BOTTOM, 6.0, H]
        y = dict(zip(points, _deflect(points, lateral, st), strict=True))
        for where, (z, sides) in locations.items():
            n = gamma_g * sum(g for zj, g in dead if zj >= z)
            v = sum(f for zj, f in lateral if zj >= z)
            m1 = sum(f * (zj - z) for zj, f in lateral if zj > z)
            dm1 = sum(gamma_g * g * (y[zj] - y[z]) for zj, g in dead if zj > z)
            amp = 1 / (1 - dm1 / m1)
            sigma = max((n * 1e3 / a + amp * m1 * 1e3 / w) / 1e6 for a, w in sides)
            results[(where, name)] = {
                "N": n,
                "V": v,
                "M1": m1,
                "dM1": dm1,
                "A": amp,
                "M": amp * m1,
                "sigma": sigma,
                "util": sigma / strength if strength else math.nan,
                "y top": y[H],
            }
    brackets = {}
    for name, kg, area, _, arm in EQUIPMENT:
        fk = BETA_GZ * 1.3 * MU_Z * W0 * area
        fd, vd = 1.5 * fk, 1.3 * kg * G / 1000
        e = arm if arm is not None else math.sqrt(area) / 2
        brackets[name] = {"wk": BETA_GZ * 1.3 * MU_Z * W0, "Fk": fk, "Fd": fd, "Vd": vd,
                          "arm": e, "Md": math.hypot(fd, vd) * e}  # fmt: skip
    gw = results[("base", "G + W")]
    return {
        "bounds": bounds,
        "theta_v": theta_v,
        "beta top": _beta(H),
        "beta top tapered": _beta(H, theta(H)),
        "beta 3.0": _beta(3.0),
        "beta 3.0 tapered": _beta(3.0, theta(3.0)),
        "theta 3.0": theta(3.0),
        "moment without": sum(
            f * z for z, f in zip(heights, plain_slices + plain_att, strict=True)
        ),
        "moment with": sum(
            f * z
            for z, f in zip(
                heights,
                [
                    _beta(z, theta(z)) / _beta(z) * f
                    for z, f in zip(heights, plain_slices + plain_att, strict=False)
                ],
                strict=True,
            )
        ),
        "moment used": sum(f * z for z, f in wind_k),
        "dead": sum(g for _, g in dead),
        "steel kg": sum(RHO * p[0] * dz for p, dz in zip(props, dzs, strict=True)),
        "base": dict(zip(("A", "I", "W"), at_base, strict=True)),
        "below": dict(zip(("A", "I", "W"), below, strict=True)),
        "above": dict(zip(("A", "I", "W"), above, strict=True)),
        "door": door,
        "x": x,
        "gamma1": gamma1,
        "alpha1": alpha1,
        "alpha Tg 0.35": (0.35 / t1) ** gamma * eta2 * ALPHA_MAX,
        "F_Ek": sum(f for _, f in quake),
        "M_Ek": sum(f * z for z, f in quake),
        "results": results,
        "brackets": brackets,
        "top deflection 2nd": gw["y top"] * gw["A"],
        "top deflection 1st": gw["y top"],
    }


def _shaft() -> pole.PoleShaft:
    def mm(v: float) -> Any:
        return Quantity(v * 1000, "mm")

    return pole.PoleShaft(
        height=Quantity(H, "m"),
        base_diameter=mm(SEGMENTS[0][1]),
        top_diameter=mm(SEGMENTS[1][2]),
        wall_thickness=mm(SEGMENTS[0][3]),
        steel_grade=pole.SteelGrade.Q355,
        shape=wind.SectionShape.POLYGONAL,
        sides=N_SIDES,
        segments=tuple(
            pole.ShaftSegment(
                bottom=Quantity(b, "m"),
                base_diameter=mm(f0),
                top_diameter=mm(f1),
                wall_thickness=mm(t),
            )
            for b, f0, f1, t in SEGMENTS
        ),
        door=pole.DoorOpening(
            bottom=Quantity(DOOR_BOTTOM, "m"),
            height=Quantity(DOOR_HEIGHT, "m"),
            width=mm(DOOR_WIDTH),
        ),
    )


def _loads() -> pole.PoleLoads:
    attachments = [
        pole.Attachment(
            name=name,
            mass=Quantity(kg, "kg"),
            area=Quantity(a, "m^2"),
            height=Quantity(z, "m"),
            shape_coefficient=1.3,
            arm=Quantity(arm, "m") if arm is not None else None,
        )
        for name, kg, a, z, arm in EQUIPMENT
    ]
    return pole.analyse_pole(
        _shaft(),
        attachments,
        terrain="C",
        w0=Quantity(W0, "kN/m^2"),
        first_frequency=Quantity(F1, "Hz"),
        seismic_input=seismic.Seismic(
            intensity="8",
            acceleration=Quantity(0.20, "gravity"),
            alpha_max=seismic.alpha_max("8", Quantity(0.20, "gravity")),
            characteristic_period=seismic.characteristic_period("II", 3),
        ),
    )


HAND = _by_hand()


# --- the calculator against the hand calculation ----------------------------------------------


def test_the_door_section_is_the_face_less_a_rectangle() -> None:
    door = HAND["door"]
    cut = section.cut_section(
        section.polygonal_tube(N_SIDES, Quantity(door["f"], "m"), Quantity(0.008, "m")),
        Quantity(DOOR_WIDTH, "m"),
    )

    assert cut.area.to("m^2").magnitude == pytest.approx(door["A"], rel=1e-12)
    assert cut.centroid_shift.to("m").magnitude == pytest.approx(door["shift"], rel=1e-12)
    assert cut.second_moment_x.to("m^4").magnitude == pytest.approx(door["Ix"], rel=1e-12)
    assert cut.second_moment_y.to("m^4").magnitude == pytest.approx(door["Iy"], rel=1e-12)
    # The calculator scans every half degree, the hand every tenth: within 0.1 %.
    assert cut.modulus.to("m^3").magnitude == pytest.approx(door["W"], rel=1e-3)


def test_a_door_cut_across_corners_matches_a_pixel_count() -> None:
    # A 200 mm door in a 300 mm octagon runs into the neighbouring faces: count 0.5 mm pixels.
    f, t, b = 0.300, 0.006, 0.200
    cut = section.cut_section(
        section.polygonal_tube(8, Quantity(f, "m"), Quantity(t, "m")), Quantity(b, "m")
    )
    h = 0.0005
    n = int(f / h) + 2
    area = sy = 0.0
    ao, ai = f / 2, f / 2 - t
    for i in range(-n // 2, n // 2 + 1):
        for j in range(-n // 2, n // 2 + 1):
            px, py = (i + 0.5) * h, (j + 0.5) * h
            if abs(px) <= b / 2 and py > 0:
                continue

            def inside(apothem: float, px: float = px, py: float = py) -> bool:
                angle = math.atan2(py, px) - math.pi / 2
                sector = round(angle / (2 * math.pi / 8))
                normal = math.pi / 2 + sector * 2 * math.pi / 8
                return px * math.cos(normal) + py * math.sin(normal) <= apothem

            if inside(ao) and not inside(ai):
                area += h * h
                sy += py * h * h

    assert cut.area.to("m^2").magnitude == pytest.approx(area, rel=2e-3)
    assert cut.centroid_shift.to("m").magnitude == pytest.approx(-sy / area, rel=5e-3)


def test_a_round_door_cut_matches_the_closed_form_integrals_numerically() -> None:
    d, t, b = 0.300, 0.006, 0.150
    cut = section.cut_section(
        section.circular_tube(Quantity(d, "m"), Quantity(t, "m")), Quantity(b, "m")
    )
    # Strips dx across the opening: each removes √(R² − x²) − √(r² − x²) of wall.
    big, small, steps = d / 2, d / 2 - t, 20000
    area = sy = syy = 0.0
    for k in range(steps):
        xk = -b / 2 + (k + 0.5) * b / steps
        top, bottom = math.sqrt(big**2 - xk**2), math.sqrt(small**2 - xk**2)
        area += (top - bottom) * b / steps
        sy += (top**2 - bottom**2) / 2 * b / steps
        syy += (top**3 - bottom**3) / 3 * b / steps
    full = section.circular_tube(Quantity(d, "m"), Quantity(t, "m"))
    net = full.area.to("m^2").magnitude - area
    shift = sy / net

    assert cut.removed_area.to("m^2").magnitude == pytest.approx(area, rel=1e-6)
    assert cut.centroid_shift.to("m").magnitude == pytest.approx(shift, rel=1e-6)
    i_x = full.second_moment.to("m^4").magnitude - syy - net * shift**2
    assert cut.second_moment_x.to("m^4").magnitude == pytest.approx(i_x, rel=1e-6)


def test_a_door_wider_than_the_tube_is_refused() -> None:
    tube = section.circular_tube(Quantity(200, "mm"), Quantity(5, "mm"))
    with pytest.raises(ValueError, match="door width 195 mm must be above 0 and below"):
        section.cut_section(tube, Quantity(195, "mm"))


def test_every_section_and_combination_matches_the_hand_calculation() -> None:
    loads = _loads()
    found = {(f.location, f.combination): f for f in loads.section_forces}

    assert set(found) == set(HAND["results"])
    for key, hand in HAND["results"].items():
        f = found[key]
        assert f.axial.to("kN").magnitude == pytest.approx(hand["N"], rel=1e-9), key
        assert f.shear.to("kN").magnitude == pytest.approx(hand["V"], rel=1e-9), key
        assert f.first_order_moment.to("kN*m").magnitude == pytest.approx(hand["M1"], rel=1e-9)
        assert f.amplification == pytest.approx(hand["A"], rel=1e-9), key
        if f.limit_state == "ultimate":
            # The door's W is scanned at 0.5° by the calculator, 0.1° here.
            assert f.stress.to("N/mm^2").magnitude == pytest.approx(hand["sigma"], rel=1e-3)


def test_base_actions_are_the_base_rows_for_the_other_checks() -> None:
    loads = _loads()
    actions = {a.combination: a for a in loads.base_actions}

    assert list(actions) == list(
        dict.fromkeys(k[1] for k in HAND["results"])
    )  # every combination, in order
    for name, a in actions.items():
        hand = HAND["results"][("base", name)]
        assert a.axial.to("kN").magnitude == pytest.approx(hand["N"], rel=1e-9)
        assert a.shear.to("kN").magnitude == pytest.approx(hand["V"], rel=1e-9)
        assert a.moment.to("kN*m").magnitude == pytest.approx(hand["M"], rel=1e-9)
        assert a.dead_axial is not None
        assert a.dead_axial.to("kN").magnitude == pytest.approx(HAND["dead"], rel=1e-9)
    assert actions["G + W"].limit == "characteristic"
    assert actions["1.0×(1.0G + 1.5W)"].limit == "ultimate"


def test_the_seismic_action_matches_the_hand_calculation() -> None:
    quake = _loads().seismic

    assert quake is not None
    assert quake.alpha == pytest.approx(HAND["alpha1"], rel=1e-12)
    assert quake.participation == pytest.approx(HAND["gamma1"], rel=1e-9)
    assert quake.base_shear.to("kN").magnitude == pytest.approx(HAND["F_Ek"], rel=1e-9)
    assert quake.base_moment.to("kN*m").magnitude == pytest.approx(HAND["M_Ek"], rel=1e-9)


def test_brackets_take_the_attachment_gust_factor() -> None:
    loads = _loads()

    for b in loads.brackets:
        hand = HAND["brackets"][b.name]
        assert b.beta_gz == BETA_GZ
        assert b.design_force.to("kN").magnitude == pytest.approx(hand["Fd"], rel=1e-9)
        assert b.design_weight.to("kN").magnitude == pytest.approx(hand["Vd"], rel=1e-9)
        assert b.design_moment.to("kN*m").magnitude == pytest.approx(hand["Md"], rel=1e-9)
        # The main structure carries βz, not βgz: at the top βz is larger, low down smaller.
        assert b.main_structure_force != b.force


def test_taper_sensitivity_and_second_order_deflection() -> None:
    loads = _loads()

    assert loads.theta_v == pytest.approx(HAND["theta_v"], rel=1e-12)
    assert loads.base_moment.to("kN*m").magnitude == pytest.approx(HAND["moment without"])
    assert loads.base_moment_tapered is not None
    assert loads.base_moment_tapered.to("kN*m").magnitude == pytest.approx(HAND["moment with"])
    assert loads.base_moment_design is not None
    assert loads.base_moment_design.to("kN*m").magnitude == pytest.approx(HAND["moment used"])
    assert loads.top_deflection_second_order is not None
    assert loads.top_deflection_second_order.to("m").magnitude == pytest.approx(
        HAND["top deflection 2nd"], rel=1e-9
    )


def test_the_worst_check_is_the_door_under_wind() -> None:
    worst = _loads().worst_section_check()

    assert worst is not None
    assert worst.name == "stress, door 0.6 m"
    assert worst.combination == "1.0×(1.3G + 1.5W)"


def test_importance_factor_scales_the_ultimate_wind_combination() -> None:
    shaft = _shaft()
    one = pole.analyse_pole(shaft, [], terrain="C", w0=Quantity(W0, "kN/m^2"))
    more = pole.analyse_pole(
        shaft, [], terrain="C", w0=Quantity(W0, "kN/m^2"), importance_factor=1.1
    )

    a, b = one.base_actions[0], more.base_actions[0]
    assert b.combination == "1.1×(1.3G + 1.5W)"
    assert b.axial.magnitude == pytest.approx(1.1 * a.axial.magnitude, rel=1e-12)
    assert b.moment.magnitude > 1.1 * a.moment.magnitude  # and P-Δ grows with it
    assert more.base_actions[2].moment.magnitude == pytest.approx(
        one.base_actions[2].moment.magnitude
    )


def test_without_a_seismic_intensity_there_is_no_seismic_combination() -> None:
    loads = pole.analyse_pole(_shaft(), [], terrain="C", w0=Quantity(W0, "kN/m^2"))

    assert loads.seismic is None
    assert {a.combination for a in loads.base_actions} == {
        "1.0×(1.3G + 1.5W)",
        "1.0×(1.0G + 1.5W)",
        "G + W",
    }


def test_segments_must_agree_with_the_shaft_summary() -> None:
    shaft = _shaft()
    with pytest.raises(ValueError, match=r"design\.top_diameter 140 mm differs from the last"):
        pole.PoleShaft(
            height=shaft.height,
            base_diameter=shaft.base_diameter,
            top_diameter=Quantity(140, "mm"),
            wall_thickness=shaft.wall_thickness,
            steel_grade=shaft.steel_grade,
            shape=shaft.shape,
            sides=shaft.sides,
            segments=shaft.segments,
        )


def test_the_response_spectrum_branches() -> None:
    kw = {"alpha_max": 0.16, "characteristic_period": Quantity(0.45, "s"), "damping_ratio": 0.05}
    # ζ = 0.05: γ 0.9, η1 0.02, η2 1 (GB 50011 5.1.5).
    assert seismic.response_coefficient(Quantity(0.0, "s"), **kw) == pytest.approx(0.45 * 0.16)
    assert seismic.response_coefficient(Quantity(0.3, "s"), **kw) == pytest.approx(0.16)
    assert seismic.response_coefficient(Quantity(0.9, "s"), **kw) == pytest.approx(0.5**0.9 * 0.16)
    assert seismic.response_coefficient(Quantity(3.0, "s"), **kw) == pytest.approx(
        (0.2**0.9 - 0.02 * (3.0 - 2.25)) * 0.16
    )


# --- the document's printed numbers -------------------------------------------------------


def _printed() -> dict[str, tuple[float, float]]:
    r = HAND["results"]
    base, door, joint = "base", "door", "section change"
    u1, ce, e1 = "1.0×(1.3G + 1.5W)", "G + W", "1.2G + 1.3E + 0.2×1.4W"
    d = HAND["door"]
    return {
        "base A mm2": (HAND["base"]["A"] * 1e6, 0.05),
        "base I cm4": (HAND["base"]["I"] * 1e8, 0.5),
        "base W cm3": (HAND["base"]["W"] * 1e6, 0.05),
        "below A mm2": (HAND["below"]["A"] * 1e6, 0.05),
        "below W cm3": (HAND["below"]["W"] * 1e6, 0.05),
        "above A mm2": (HAND["above"]["A"] * 1e6, 0.05),
        "above W cm3": (HAND["above"]["W"] * 1e6, 0.05),
        "door F mm": (d["f"] * 1e3, 0.05),
        "door full A mm2": (d["full A"] * 1e6, 0.05),
        "door full W cm3": (d["full W"] * 1e6, 0.05),
        "door cut A mm2": (d["cut A"] * 1e6, 0.05),
        "door A mm2": (d["A"] * 1e6, 0.05),
        "door shift mm": (d["shift"] * 1e3, 0.005),
        "door Ix cm4": (d["Ix"] * 1e8, 0.5),
        "door Iy cm4": (d["Iy"] * 1e8, 0.5),
        "door W door side cm3": (d["W door side"] * 1e6, 0.05),
        "door W far side cm3": (d["W far side"] * 1e6, 0.05),
        "door W flank cm3": (d["W flank"] * 1e6, 0.05),
        "door W cm3": (d["W"] * 1e6, 0.05),
        "theta_v": (HAND["theta_v"], 5e-5),
        "theta 3.0": (HAND["theta 3.0"], 5e-4),
        "beta 3.0": (HAND["beta 3.0"], 5e-4),
        "beta 3.0 tapered": (HAND["beta 3.0 tapered"], 5e-4),
        "beta top": (HAND["beta top"], 5e-4),
        "beta top tapered": (HAND["beta top tapered"], 5e-4),
        "moment without": (HAND["moment without"], 5e-4),
        "moment with": (HAND["moment with"], 5e-4),
        "moment used": (HAND["moment used"], 5e-4),
        "dead kN": (HAND["dead"], 5e-4),
        "steel kg": (HAND["steel kg"], 0.05),
        "gamma1": (HAND["gamma1"], 5e-4),
        "alpha1": (HAND["alpha1"], 5e-5),
        "alpha Tg 0.35": (HAND["alpha Tg 0.35"], 5e-5),
        "F_Ek kN": (HAND["F_Ek"], 5e-4),
        "M_Ek kNm": (HAND["M_Ek"], 5e-4),
        "base U1 N": (r[(base, u1)]["N"], 5e-4),
        "base U1 M1": (r[(base, u1)]["M1"], 5e-4),
        "base U1 dM1": (r[(base, u1)]["dM1"], 5e-4),
        "base U1 A": (r[(base, u1)]["A"], 5e-5),
        "base U1 M": (r[(base, u1)]["M"], 5e-4),
        "base U1 sigma": (r[(base, u1)]["sigma"], 0.05),
        "base U1 util": (r[(base, u1)]["util"], 5e-4),
        "door U1 N": (r[(door, u1)]["N"], 5e-4),
        "door U1 M1": (r[(door, u1)]["M1"], 5e-4),
        "door U1 A": (r[(door, u1)]["A"], 5e-5),
        "door U1 M": (r[(door, u1)]["M"], 5e-4),
        "door U1 sigma": (r[(door, u1)]["sigma"], 0.05),
        "door U1 util": (r[(door, u1)]["util"], 5e-4),
        "joint U1 N": (r[(joint, u1)]["N"], 5e-4),
        "joint U1 M1": (r[(joint, u1)]["M1"], 5e-4),
        "joint U1 A": (r[(joint, u1)]["A"], 5e-5),
        "joint U1 M": (r[(joint, u1)]["M"], 5e-4),
        "joint U1 sigma": (r[(joint, u1)]["sigma"], 0.05),
        "joint U1 util": (r[(joint, u1)]["util"], 5e-4),
        "base E N": (r[(base, e1)]["N"], 5e-4),
        "base E M": (r[(base, e1)]["M"], 5e-4),
        "base E sigma": (r[(base, e1)]["sigma"], 0.05),
        "base E util": (r[(base, e1)]["util"], 5e-4),
        "door E util": (r[(door, e1)]["util"], 5e-4),
        "base GW V": (r[(base, ce)]["V"], 5e-4),
        "base GW M": (r[(base, ce)]["M"], 5e-4),
        "top 1st mm": (HAND["top deflection 1st"] * 1e3, 0.05),
        "top 2nd mm": (HAND["top deflection 2nd"] * 1e3, 0.05),
        "luminaire Fd": (HAND["brackets"]["luminaire"]["Fd"], 5e-4),
        "luminaire Vd": (HAND["brackets"]["luminaire"]["Vd"], 5e-4),
        "luminaire Md": (HAND["brackets"]["luminaire"]["Md"], 5e-4),
        "screen Fd": (HAND["brackets"]["LED screen"]["Fd"], 5e-4),
        "screen arm": (HAND["brackets"]["LED screen"]["arm"], 5e-4),
        "screen Md": (HAND["brackets"]["LED screen"]["Md"], 5e-4),
        "bracket wk": (HAND["brackets"]["camera"]["wk"], 5e-4),
    }


def test_the_document_prints_the_hand_numbers() -> None:
    text = DOC.read_text(encoding="utf-8")
    printed = _printed()
    missing = []
    for key, (value, tolerance) in printed.items():
        digits = max(0, -math.floor(math.log10(tolerance * 2)))
        shown = f"{value:.{digits}f}"
        if not re.search(rf"(?<![\d.]){re.escape(shown)}(?![\d])", text):
            missing.append(f"{key} {shown}")
    assert not missing, missing


def test_the_station_table_is_recomputed() -> None:
    text = DOC.read_text(encoding="utf-8")
    bounds = HAND["bounds"]
    theta_v = HAND["theta_v"]

    def theta(z: float) -> float:
        return _size(min(z, H), below=z >= H)[0] / SEGMENTS[0][1] * theta_v

    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        z, dz = (a + b) / 2, b - a
        f, t = _size(z)
        area, second, _ = _octagon(f, t)
        width = f / math.cos(THETA)
        beta, tapered = _beta(z), _beta(z, theta(z))
        force = max(beta, tapered) * MU_S * MU_Z * W0 * width * dz
        weight = RHO * area * dz * G / 1000
        row = (
            f"| {a:.1f}–{b:.1f} | {z:.2f} | {f * 1e3:.1f} | {t * 1e3:.0f} | {area * 1e6:.1f} | "
            f"{second * 1e8:.1f} | {width * 1e3:.1f} | {beta:.3f} | {theta(z):.3f} | "
            f"{tapered:.3f} | {force:.4f} | {weight:.4f} | {HAND['x'][i]:.4f} |"
        )
        assert row in text, row
    for j, (name, kg, area, z, _) in enumerate(EQUIPMENT):
        beta, tapered = _beta(z), _beta(z, theta(z))
        row = (
            f"| {name} | {z:.2f} | {area:.2f} | {beta:.3f} | {theta(z):.3f} | {tapered:.3f} | "
            f"{max(beta, tapered) * 1.3 * MU_Z * W0 * area:.4f} | {kg * G / 1000:.4f} | "
            f"{HAND['x'][len(bounds) - 1 + j]:.4f} |"
        )
        assert row in text, row


@pytest.mark.parametrize(
    ("ratio", "theta_v"),
    [
        (1.0, 1.00),
        (0.9, 1.10),
        (0.75, 1.26),
        (0.469, 1.75 + 0.33 * 0.31),
        (0.1, 5.60),
        (0.05, 5.60),
    ],
)
def test_theta_v_is_table_8_4_6_interpolated(ratio: float, theta_v: float) -> None:
    base = Quantity(300, "mm")
    top = base * ratio
    theta_b, found = wind.taper_factors(top, base_width=base, top_width=top)

    assert found == pytest.approx(theta_v, rel=1e-9)
    assert theta_b == pytest.approx(ratio, rel=1e-12)


def test_an_intensity_outside_the_table_asks_for_alpha_max() -> None:
    with pytest.raises(ValueError, match=r"give design\.seismic_alpha_max"):
        seismic.alpha_max("8", Quantity(0.25, "gravity"))
    assert seismic.alpha_max("7", Quantity(0.15, "gravity")) == 0.12
