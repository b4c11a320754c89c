"""The opinion map's drawing: one scale for both axes (distances true in every
direction), every circle and label inside the picture, and no blank picture."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from sayso.deliberation.selectors import Group, MapView
from sayso.deliberation.svg import HEIGHT, LABEL_SIZE, WIDTH, layout, opinion_map_svg


def _view(*groups: tuple[str, int, tuple[float, float]]) -> MapView:
    return MapView(
        computed_at=None,
        vote_count=0,
        groups=[
            Group(number=i, label=label, size=size, centre=centre)
            for i, (label, size, centre) in enumerate(groups)
        ],
        hidden_groups=0,
        statement_index={},
        agree=[],
        disagree=[],
        seen=[],
        data={},
        threshold=5,
    )


def _drawn(svg: str) -> tuple[list[dict[str, float]], list[dict[str, Any]]]:
    circles = [
        {"x": float(x), "y": float(y), "r": float(r)}
        for x, y, r in re.findall(r'<circle cx="([\d.-]+)" cy="([\d.-]+)" r="([\d.-]+)"', svg)
    ]
    labels = [
        {"x": float(x), "y": float(y), "size": float(size), "text": text}
        for x, y, size, text in re.findall(
            r'<text x="([\d.-]+)" y="([\d.-]+)" text-anchor="middle" fill="#1d1d1f" '
            r'font-size="(\d+)">([^<]+)</text>',
            svg,
        )
    ]
    return circles, labels


def _inside(svg: str) -> None:
    circles, labels = _drawn(svg)
    assert circles
    assert len(labels) == len(circles)
    for c in circles:
        assert c["x"] - c["r"] >= 0, c
        assert c["x"] + c["r"] <= WIDTH, c
        assert c["y"] - c["r"] >= 0, c
        assert c["y"] + c["r"] <= HEIGHT, c
    for label in labels:
        half = 0.3 * label["size"] * len(label["text"])  # at least as wide as drawn
        assert label["x"] - half >= 0, label
        assert label["x"] + half <= WIDTH, label
        # From the cap height above the baseline to the descenders below it.
        assert label["y"] - label["size"] >= 0, label
        assert label["y"] + 0.3 * label["size"] <= HEIGHT, label


def test_two_groups_side_by_side_are_drawn_side_by_side() -> None:
    # The reviewer's case: a split across, none down. Scaled per axis, the tiny
    # difference down (0.03) was stretched to the full height: opposite corners.
    svg = opinion_map_svg(_view(("A", 16, (-2.18, -0.01)), ("B", 9, (2.31, 0.02))))
    (a, b), _labels = _drawn(svg)
    across, down = abs(b["x"] - a["x"]), abs(b["y"] - a["y"])
    assert across > 200
    assert down < 3  # 0.03 at the same scale as 4.49 across: about 2 px
    assert math.isclose(down / across, 0.03 / 4.49, abs_tol=0.002)
    _inside(svg)


@pytest.mark.parametrize(
    "centres",
    [
        [(-2.18, -0.01), (2.31, 0.02), (0.0, 0.0)],  # a split across, none down
        [(0.0, -3.0), (0.1, 3.0), (0.08, 0.0)],  # a split down, none across
        [(-1.0, -1.0), (1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (0.0, 0.0)],
    ],
)
def test_one_scale_for_both_axes_and_everything_inside(centres: list[tuple[float, float]]) -> None:
    sizes = [16, 3, 1000, 7, 1][: len(centres)]
    view = _view(
        *((chr(65 + i), n, c) for i, (n, c) in enumerate(zip(sizes, centres, strict=True)))
    )
    svg = opinion_map_svg(view)
    circles, _labels = _drawn(svg)
    _inside(svg)
    # Distances keep their proportions whichever way they point: one scale for every
    # pair (to the 0.1 px the drawing is rounded to).
    pairs = [(i, j) for i in range(len(centres)) for j in range(i + 1, len(centres))]
    if pairs:
        far = max(pairs, key=lambda p: math.dist(centres[p[0]], centres[p[1]]))
        scale = _apart(circles, *far) / math.dist(centres[far[0]], centres[far[1]])
        for i, j in pairs:
            assert abs(_apart(circles, i, j) - scale * math.dist(centres[i], centres[j])) < 0.2


def _apart(circles: list[dict[str, float]], i: int, j: int) -> float:
    return math.dist((circles[i]["x"], circles[i]["y"]), (circles[j]["x"], circles[j]["y"]))


def test_the_groups_are_centred() -> None:
    placed = layout([(-1.0, 0.0), (3.0, 0.0)], [20.0, 20.0], ["5 people", "5 people"])
    assert math.isclose((placed[0][0] + placed[1][0]) / 2, WIDTH / 2)
    assert placed[0][1] == placed[1][1]
    one = layout([(7.0, -2.0)], [40.0], ["16 people"])
    assert math.isclose(one[0][0], WIDTH / 2)


def test_the_lowest_label_stays_inside_the_picture() -> None:
    # Before: the label of the lowest group sat at y = 265 in a 260-high picture.
    svg = opinion_map_svg(_view(("A", 16, (0.0, 2.0)), ("B", 16, (0.0, -2.0))))
    _circles, labels = _drawn(svg)
    assert max(label["y"] for label in labels) + 0.3 * LABEL_SIZE <= HEIGHT
    _inside(svg)


def test_no_group_gives_the_message_not_a_blank_picture() -> None:
    html = opinion_map_svg(_view())
    assert "<svg" not in html
    assert html == "<p>No group is large enough to show yet.</p>"


def _cross(svg: str) -> list[tuple[float, float, float, float]]:
    return [
        (float(a), float(b), float(c), float(d))
        for a, b, c, d in re.findall(
            r'<line x1="([\d.-]+)" y1="([\d.-]+)" x2="([\d.-]+)" y2="([\d.-]+)"', svg
        )
    ]


@pytest.mark.parametrize(
    "centres",
    [
        [(-1.0, -0.5), (3.0, 1.5)],  # origin a quarter of the way from A to B
        [(-2.18, -0.01), (2.31, 0.02)],  # a split across, origin near the middle
        [(0.5, -2.0), (1.5, 2.5), (-0.5, 0.4)],  # three groups, origin off their middle
    ],
)
def test_the_dashed_cross_passes_through_the_projections_origin(
    centres: list[tuple[float, float]],
) -> None:
    # Before: the cross sat at the middle of the picture whatever the data said.
    view = _view(*((chr(65 + i), 10 + i, c) for i, c in enumerate(centres)))
    svg = opinion_map_svg(view)
    circles, _labels = _drawn(svg)
    # The origin worked out from two drawn circles alone: where (0, 0) falls on the
    # straight line between them, at the one scale the picture uses for both axes.
    far = max(
        ((i, j) for i in range(len(centres)) for j in range(i + 1, len(centres))),
        key=lambda p: math.dist(centres[p[0]], centres[p[1]]),
    )
    (ax, ay), (bx, by) = centres[far[0]], centres[far[1]]
    scale = _apart(circles, *far) / math.dist((ax, ay), (bx, by))
    origin = (circles[far[0]]["x"] - ax * scale, circles[far[0]]["y"] - ay * scale)
    down, across = _cross(svg)
    assert down[0] == down[2]  # an upright line
    assert across[1] == across[3]  # a level line
    assert abs(down[0] - origin[0]) < 0.3
    assert abs(across[1] - origin[1]) < 0.3
    # Every group is on the same side of each line as it is of 0 in the data.
    for (x, _y), circle in zip(centres, circles, strict=True):
        assert (circle["x"] - down[0]) * x >= 0
    for (_x, y), circle in zip(centres, circles, strict=True):
        assert (circle["y"] - across[1]) * y >= 0


def test_a_line_of_the_cross_outside_the_picture_is_left_out() -> None:
    # Both groups far right of 0 across: the upright line would be off the map.
    svg = opinion_map_svg(_view(("A", 10, (5.0, -1.0)), ("B", 10, (6.0, 1.0))))
    lines = _cross(svg)
    assert len(lines) == 1
    assert lines[0][1] == lines[0][3]  # only the level line, through y = 0
    circles, _labels = _drawn(svg)
    assert math.isclose(lines[0][1], (circles[0]["y"] + circles[1]["y"]) / 2, abs_tol=0.1)


def test_one_group_has_no_scale_so_no_cross() -> None:
    svg = opinion_map_svg(_view(("A", 10, (1.0, 1.0))))
    assert _cross(svg) == []
    _inside(svg)
