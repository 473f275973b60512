"""The claims of [ISL21] Islam et al. 2021 (padding, boundary effects, the canvas task)."""

from __future__ import annotations

from padpos.stages.claims.scorecard import (
    Claim,
    Estimate,
    NotMeasured,
    Rule,
    Saturation,
    Tables,
    difference,
    mean_of,
    per_seed,
    with_binomial_of,
)

# ---------------------------------------------------------------- [ISL21] boundary effects
# The canvas nets (docs/protocols.md 5): an image in one cell of a k x k canvas, one net per
# arm predicting the cell and the class. Rows read the mean-colour canvas (the ICCV 2021
# code's) unless they compare colours; every contrast is paired over seeds (the arms share
# seeds, source images and cell draws) with the test images' binomial noise, and guarded
# against saturation. The rule of every row and why it follows from [ISL21]'s words:
# docs/protocols.md section 8. circular is left out of the per-scheme rows: on a uniform
# canvas with cells a multiple of the stride it is exactly equivariant (ISL21-a.circular),
# so its border and innermost rings are equal by construction, for both tasks.
CANVAS_TABLE = "canvas_location"
CANVAS_SCHEMES = ("zeros", "reflect", "replicate", "partial", "none")  # symmetric = replicate: no canvas arm
OTHER_PADDINGS = ("reflect", "replicate", "circular", "partial")  # [ISL21]'s "other common padding types"
PADDING_FREE = "valid"
IN_DISTRIBUTION_POINTS = 5.0  # mid-gap class accuracy within this of the held-out accuracy


def _canvas(t: Tables, padding: str, task: str, ring, canvas: str = "mean"):
    return t.group(CANVAS_TABLE, padding=padding, canvas=canvas, task=task, ring=ring)


def _innermost(t: Tables, padding: str, task: str) -> str:
    rings = [int(r) for r in t.values(CANVAS_TABLE, "ring", padding=padding, task=task) if str(r) != "all"]
    if not rings:
        raise NotMeasured(f"{CANVAS_TABLE} has no {task} rows for {padding}")
    return str(max(rings))


def _chance(task: str):
    def chance(t: Tables) -> float:
        values = t.values(CANVAS_TABLE, "chance", task=task)
        if not values:
            raise NotMeasured(f"{CANVAS_TABLE} has no {task} rows")
        return float(values[0])

    return chance


def _ring_gap(padding: str, task: str):
    """Border ring (0) minus innermost ring, paired over seeds."""
    return lambda t: difference(_canvas(t, padding, task, "0"), _canvas(t, padding, task, _innermost(t, padding, task)))


def _deficit(t: Tables, padding: str) -> tuple:
    """(innermost, border) class-accuracy groups of an arm."""
    return _canvas(t, padding, "class", _innermost(t, padding, "class")), _canvas(t, padding, "class", "0")


def _deficit_vs_padding_free(padding: str):
    """(innermost - border) class accuracy of ``padding`` minus the padding-free arm's, per seed."""

    def estimate(t: Tables) -> Estimate:
        inner, border = _deficit(t, padding)
        inner_v, border_v = _deficit(t, PADDING_FREE)
        est = per_seed(lambda a, b, c, d: (a - b) - (c - d), [inner, border, inner_v, border_v],
                       "paired t over seeds (difference of differences)")  # fmt: skip
        return with_binomial_of(est, [inner, border_v], [border, inner_v])

    return estimate


def _in_distribution(*paddings: str):
    """Precondition of a border-distance row: each arm's class accuracy at the mid gap (ring
    innermost // 2) lies within IN_DISTRIBUTION_POINTS of its held-out accuracy over all
    cells (the canvases it was trained on), else the row is out of distribution."""

    def check(t: Tables) -> str:
        bad = []
        for padding in paddings:
            try:
                mid = str(int(_innermost(t, padding, "class")) // 2)
                g_mid, g_all = _canvas(t, padding, "class", mid), _canvas(t, padding, "class", "all")
            except NotMeasured:
                continue  # the estimate names what is missing
            if abs(g_mid.mean - g_all.mean) > IN_DISTRIBUTION_POINTS:
                bad.append(f"{padding}: ring {mid} {g_mid.mean:.1f} % vs all cells {g_all.mean:.1f} %")
        if bad:
            return (f"inconclusive (out of distribution): mid-gap class accuracy more than "
                    f"{IN_DISTRIBUTION_POINTS:g} points from held-out accuracy ({'; '.join(bad)})")  # fmt: skip
        return ""

    return check


def _zeros_vs_best_other(t: Tables) -> Estimate:
    schemes, _ = t.scheme_arms([p for p in OTHER_PADDINGS if t.values(CANVAS_TABLE, "padding", padding=p)])
    if not schemes:
        raise NotMeasured("no other same-size padding scheme in this study's canvas nets")
    others = [_canvas(t, p, "location", "all") for p in schemes]
    best = max(others, key=lambda g: g.mean)
    return difference(_canvas(t, "zeros", "location", "all"), best)




def _chance_gap(t: Tables, padding: str) -> Estimate:
    chance = _chance("location")(t)
    est = mean_of(_canvas(t, padding, "location", "all"))
    return Estimate(est.value - chance, est.low - chance, est.high - chance, est.n, est.method, est.groups)


LOCATION_FLOOR = Saturation(chance=_chance("location"))
CLASS_FLOOR = Saturation(chance=_chance("class"))
ARM_NAME = {"none": "no padding ([ISL21]'s resize variant, none)", PADDING_FREE: "the padding-free arm (valid convs)"}

ISL21 = [
    Claim(
        f"ISL21-a.rings.{p}", "ISL21",
        f"Position comes from the border: with {ARM_NAME.get(p, p + ' padding')}, the cell of an image "
        "next to the canvas border is read better than that of an image beyond the receptive field",
        (CANVAS_TABLE,),
        f"location accuracy (points), border ring minus innermost ring, {p}, mean-colour canvas",
        Rule("greater", 10.0, "points"),
        _ring_gap(p, "location"),
        saturation=LOCATION_FLOOR,
        scheme=p if p != PADDING_FREE else "",
    )
    for p in (*CANVAS_SCHEMES, PADDING_FREE)
] + [
    Claim(
        "ISL21-a.zeros_none", "ISL21",
        "Zero padding gives a net position information that no padding ([ISL21]'s resize variant) "
        "does not: zeros reads the cells better than none",
        (CANVAS_TABLE,),
        "location accuracy over all cells (points), zeros minus none, mean-colour canvas (none's "
        "per-layer resize is not translation equivariant: a source of position information that is "
        "not the border's, docs/canvas.md)",
        Rule("greater", 0.0, "points"),
        lambda t: difference(_canvas(t, "zeros", "location", "all"), _canvas(t, "none", "location", "all")),
        saturation=LOCATION_FLOOR,
    ),
    Claim(
        "ISL21-a.zeros_best", "ISL21",
        "Zero padding gives the most useful position information of the common padding types: "
        "zeros reads the cells better than the best of reflect, replicate, circular and partial",
        (CANVAS_TABLE,),
        "location accuracy over all cells (points), zeros minus the best other same-size scheme "
        "(by its mean), mean-colour canvas",
        Rule("greater", 0.0, "points"),
        _zeros_vs_best_other,
        saturation=LOCATION_FLOOR,
    ),
    Claim(
        "ISL21-a.canvas", "ISL21",
        "The canvas colour changes the position information: a zero-padded net reads the cells "
        "better on a black canvas (an edge against the padding from the first layer on) than on "
        "the mean colour (0 after normalisation, which the first layer's zero padding continues)",
        (CANVAS_TABLE,),
        "location accuracy over all cells (points), black minus mean canvas, zeros",
        Rule("greater", 0.0, "points"),
        lambda t: difference(_canvas(t, "zeros", "location", "all", "black"),
                             _canvas(t, "zeros", "location", "all", "mean")),  # fmt: skip
        saturation=LOCATION_FLOOR,
    ),
    Claim(
        "ISL21-a.circular", "ISL21",
        "Circular padding cannot solve the canvas task (chance level)",
        (CANVAS_TABLE,),
        "location accuracy over all cells minus chance (100 / k^2), circular, mean-colour canvas",
        Rule("within", 2.0, "points"),
        lambda t: _chance_gap(t, "circular"),
        by_construction="with cells a multiple of the net's total stride, a circular-padded net "
        "with global average pooling is exactly invariant to moving the image by a cell",
    ),
] + [
    Claim(
        f"ISL21-b.{p}", "ISL21",
        f"Boundary effect on semantics ({ARM_NAME.get(p, p + ' padding')}): an image next to the "
        "canvas border is classified worse than one beyond the receptive field (in distribution: "
        "the net saw every gap in training)",
        (CANVAS_TABLE,),
        f"class accuracy (points), innermost ring minus border ring, {p}, mean-colour canvas",
        Rule("greater", 1.0, "points"),
        lambda t, p=p: difference(*_deficit(t, p)),
        precondition=_in_distribution(p),
        saturation=CLASS_FLOOR,
        scheme=p if p != PADDING_FREE else "",
    )
    for p in (*CANVAS_SCHEMES, PADDING_FREE)
] + [
    Claim(
        f"ISL21-b.{p}.vs_padding_free", "ISL21",
        f"The semantic boundary effect comes from the padding: the border deficit in class "
        f"accuracy is larger with {ARM_NAME.get(p, p + ' padding')} than with valid convs",
        (CANVAS_TABLE,),
        f"class accuracy (innermost minus border ring), {p} minus the padding-free arm, per seed, "
        "mean-colour canvas",
        Rule("greater", 0.0, "points"),
        _deficit_vs_padding_free(p),
        precondition=_in_distribution(p, PADDING_FREE),
        saturation=CLASS_FLOOR,
        scheme=p,
    )
    for p in CANVAS_SCHEMES
]
