"""Consent statistics: the opt-in rate per category over time, as server-rendered SVG.

``GET /dashboard/consent?days=90``: per UTC day, how many banner choices were recorded and which
share of them allowed analytics, advertising and widgets (GDPR Art. 7(1): the controller must be
able to show consent was given; the trend shows how the banner is answered). Counted from the
consent records in one grouped query, cached for a minute.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from privacyops.accounts import Principal
from privacyops.consent.models import ConsentRecord
from privacyops.store import Database
from privacyops.web.auth import STAFF_READ, require_staff
from privacyops.web.deps import get_db
from privacyops.web.pages import add_nav, render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
add_nav("/dashboard/consent", "Consent", STAFF_READ)

CATEGORIES = ("analytics", "advertising", "widgets")
COLOURS = {"analytics": "#1f5fbf", "advertising": "#b42318", "widgets": "#067647"}
WIDTH, HEIGHT, PAD = 760, 260, 40
_CACHE_SECONDS = 60.0


def daily_rates(db: Database, since: date) -> list[dict[str, Any]]:
    """Per day since ``since``: number of choices and the opt-in share of each category."""
    day = sa.func.date(ConsentRecord.created_at)
    query = (
        sa.select(
            day.label("day"),
            sa.func.count().label("n"),
            *[
                sa.func.sum(sa.case((getattr(ConsentRecord, c), 1), else_=0)).label(c)
                for c in CATEGORIES
            ],
        )
        .where(ConsentRecord.created_at >= datetime.combine(since, datetime.min.time(), UTC))
        .group_by(day)
        .order_by(day)
    )
    with db.session() as session:
        rows = session.execute(query).all()
    out = []
    for row in rows:
        n = int(row.n)
        out.append(
            {
                "day": str(row.day),
                "n": n,
                **{c: (int(getattr(row, c) or 0) / n if n else 0.0) for c in CATEGORIES},
            }
        )
    return out


def chart(series: list[dict[str, Any]]) -> dict[str, Any]:
    """Coordinates of one polyline per category (0-100 %) over the days of ``series``."""
    if not series:
        return {"lines": [], "width": WIDTH, "height": HEIGHT, "pad": PAD, "labels": []}
    span = max(len(series) - 1, 1)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def x(i: int) -> float:
        return round(PAD + inner_w * i / span, 1)

    def y(rate: float) -> float:
        return round(PAD + inner_h * (1 - rate), 1)

    lines = [
        {
            "category": c,
            "colour": COLOURS[c],
            "points": " ".join(f"{x(i)},{y(p[c])}" for i, p in enumerate(series)),
            "last": round(series[-1][c] * 100, 1),
        }
        for c in CATEGORIES
    ]
    step = max(1, len(series) // 6)
    labels = [{"x": x(i), "text": series[i]["day"][5:]} for i in range(0, len(series), step)]
    grid = [{"y": y(r / 100), "text": f"{r}%"} for r in (0, 25, 50, 75, 100)]
    return {
        "lines": lines,
        "labels": labels,
        "grid": grid,
        "width": WIDTH,
        "height": HEIGHT,
        "pad": PAD,
    }


@router.get("/dashboard/consent")
def consent_stats(
    request: Request,
    days: int = Query(90, ge=1, le=730),
    db: Database = Depends(get_db),
    who: Principal = Depends(require_staff(*STAFF_READ)),
) -> Response:
    """Opt-in rate per category over time, with totals."""
    cache: dict[int, tuple[float, list[dict[str, Any]]]] | None = getattr(
        request.app.state, "consent_stats_cache", None
    )
    if cache is None:
        cache = {}
        request.app.state.consent_stats_cache = cache
    hit = cache.get(days)
    if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:
        series = hit[1]
    else:
        series = daily_rates(db, datetime.now(UTC).date() - timedelta(days=days - 1))
        cache[days] = (time.monotonic(), series)
    total = sum(p["n"] for p in series)
    overall = {
        c: (sum(p[c] * p["n"] for p in series) / total * 100 if total else 0.0) for c in CATEGORIES
    }
    return render(
        request,
        "dashboard/consent.html",
        {
            "series": series,
            "chart": chart(series),
            "total": total,
            "overall": overall,
            "days": days,
        },
    )
