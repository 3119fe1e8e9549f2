"""The campaign dashboard's SEO section: per content page its latest SEO score and top
hints (put in words in the reader's language when read), its organic search visits by
engine, and its top search queries.

Organic visits by engine come from the search-query rollup (SearchQueryDaily, filled
from page views whose referrer was a search engine). Queries come from two places:
what an analytics connection imported (ImportedSearchQuery: Search Console's clicks,
impressions and position per page; Baidu Tongji's search words for the whole site) and,
where a referrer still carried one, the referrer's query. A column nothing in the
period can fill is left out, and the section says how to fill it.

Functions take the period and the campaign's page ids (analytics.dashboards passes
them), so this module needs nothing from dashboards.
"""

import datetime

from django.db.models import F, FloatField, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from content.seo import top_hint_messages

from .models import ImportedSearchQuery, SearchConnection, SearchQueryDaily, SeoAnalysis

ENGINE_LABELS = {
    "google": gettext_lazy("Google"),
    "baidu": gettext_lazy("Baidu"),
    "bing": gettext_lazy("Bing"),
    "sogou": gettext_lazy("Sogou"),
    "360": gettext_lazy("360 Search"),
    "shenma": gettext_lazy("Shenma"),
    "yandex": gettext_lazy("Yandex"),
    "duckduckgo": gettext_lazy("DuckDuckGo"),
    "yahoo": gettext_lazy("Yahoo"),
    "ecosia": gettext_lazy("Ecosia"),
    "naver": gettext_lazy("Naver"),
}
TOP_QUERIES = 5
TOP_HINTS = 3


def engine_label(engine: str) -> str:
    return str(ENGINE_LABELS.get(engine, engine))


def latest_analyses(page_ids: list[int]) -> dict[int, SeoAnalysis]:
    latest: dict[int, SeoAnalysis] = {}
    for analysis in SeoAnalysis.objects.filter(page_id__in=page_ids).order_by(
        "page_id", "-created_at", "-pk"
    ):
        latest.setdefault(analysis.page_id, analysis)
    return latest


def organic_by_engine(
    start: datetime.date, end: datetime.date, page_ids: list[int]
) -> dict[int, dict[str, int]]:
    """page id -> engine -> human page views that came from that search engine."""
    visits: dict[int, dict[str, int]] = {}
    for row in (
        SearchQueryDaily.objects.filter(page_id__in=page_ids, day__gte=start, day__lte=end)
        .values("page_id", "engine")
        .annotate(v=Sum("visits"))
    ):
        visits.setdefault(row["page_id"], {})[row["engine"]] = row["v"]
    return visits


def imported_queries(
    start: datetime.date, end: datetime.date, page_ids: list[int]
) -> dict[int, list[dict]]:
    """page id (0: the whole site) -> its top imported queries in the period."""
    found: dict[int, list[dict]] = {}
    rows = (
        ImportedSearchQuery.objects.filter(page_id__in=[*page_ids, 0], day__gte=start, day__lte=end)
        # Rows kept for the whole site are Baidu's search words; a Search Console row
        # whose address is no hub page belongs to no page shown here.
        .exclude(page_id=0, page_url__gt="")
        .values("page_id", "engine", "query")
        # Search Console's own average: positions weighted by their impressions.
        .annotate(
            total_clicks=Sum("clicks"),
            total_impressions=Sum("impressions"),
            weighted=Sum(F("position") * F("impressions"), output_field=FloatField()),
        )
        .order_by("page_id", "-total_clicks", "-total_impressions", "query")
    )
    for row in rows:
        top = found.setdefault(row["page_id"], [])
        if len(top) < TOP_QUERIES:
            top.append(
                {
                    "engine": row["engine"],
                    "query": row["query"],
                    "clicks": row["total_clicks"] or 0,
                    "impressions": row["total_impressions"],
                    "position": (
                        round(row["weighted"] / row["total_impressions"], 1)
                        if row["weighted"] is not None and row["total_impressions"]
                        else None
                    ),
                }
            )
    return found


def referrer_queries(
    start: datetime.date, end: datetime.date, page_ids: list[int]
) -> dict[int, list[dict]]:
    """page id -> queries a search engine's referrer still carried (few do now)."""
    found: dict[int, list[dict]] = {}
    for row in (
        SearchQueryDaily.objects.filter(page_id__in=page_ids, day__gte=start, day__lte=end)
        .exclude(query="")
        .values("page_id", "engine", "query")
        .annotate(v=Sum("visits"))
        .order_by("page_id", "-v", "query")
    ):
        top = found.setdefault(row["page_id"], [])
        if len(top) < TOP_QUERIES:
            top.append({"engine": row["engine"], "query": row["query"], "visits": row["v"]})
    return found


def query_words(query: dict) -> str:
    """One query with its figures, for the table and the CSV."""
    if "visits" in query:
        return _("%(query)s (%(visits)d visits, %(engine)s referrer)") % {
            "query": query["query"],
            "visits": query["visits"],
            "engine": engine_label(query["engine"]),
        }
    if query["impressions"] is None:
        return _("%(query)s (%(clicks)d visits, %(engine)s)") % {
            "query": query["query"],
            "clicks": query["clicks"],
            "engine": engine_label(query["engine"]),
        }
    words = _("%(query)s (%(clicks)d clicks, %(impressions)d impressions, %(engine)s)") % {
        "query": query["query"],
        "clicks": query["clicks"],
        "impressions": query["impressions"],
        "engine": engine_label(query["engine"]),
    }
    if query["position"] is not None:
        words += " " + _("position %(position).1f") % {"position": query["position"]}
    return words


def seo_section(start, end, page_ids: list[int], titles: dict[int, str]) -> dict:
    """Everything the SEO section shows: rows per page, the columns that can be filled,
    the site-wide search words, and notes on what is not connected."""
    latest = latest_analyses(page_ids)
    organic = organic_by_engine(start, end, page_ids)
    imported = imported_queries(start, end, page_ids)
    referred = referrer_queries(start, end, page_ids)
    engines = sorted({e for by_engine in organic.values() for e in by_engine})
    rows = []
    for page_id in page_ids:
        analysis = latest.get(page_id)
        by_engine = organic.get(page_id, {})
        queries = imported.get(page_id, []) + referred.get(page_id, [])
        row = {
            "page_id": page_id,
            "title": titles.get(page_id, f"#{page_id}"),
            "score": analysis.score if analysis else None,
            "keyphrase": analysis.keyphrase if analysis else "",
            "top_hints": top_hint_messages(analysis.hints, TOP_HINTS) if analysis else [],
            "organic_visits": sum(by_engine.values()),
            "organic": [(engine_label(e), by_engine.get(e, 0)) for e in engines],
            "queries": [query_words(q) for q in queries[:TOP_QUERIES]],
        }
        for engine in engines:
            row[f"organic_{engine}"] = by_engine.get(engine, 0)
        rows.append(row)
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["title"]))
    has_queries = any(r["queries"] for r in rows)
    columns = [
        ("title", _("Content")),
        ("keyphrase", _("Focus keyphrase")),
        ("score", _("SEO score")),
        ("top_hints", _("Top hints")),
        ("organic_visits", _("Organic visits")),
        *((f"organic_{e}", _("From %(engine)s") % {"engine": engine_label(e)}) for e in engines),
    ]
    if has_queries:
        columns.append(("queries", _("Search queries")))
    kinds = set(SearchConnection.objects.values_list("kind", flat=True))
    return {
        "rows": rows,
        "columns": columns,
        "engines": [engine_label(e) for e in engines],
        "has_queries": has_queries,
        "site_words": [query_words(q) for q in imported.get(0, [])],
        "missing_services": [
            label for kind, label in SearchConnection.Kind.choices if kind not in kinds
        ],
    }


def seo_trend(page_ids: list[int]) -> list[dict]:
    """Average SEO score of the pages per day a revision was analysed."""
    rows: dict[str, list[int]] = {}
    for analysis in SeoAnalysis.objects.filter(page_id__in=page_ids).order_by("created_at"):
        rows.setdefault(analysis.created_at.date().isoformat(), []).append(analysis.score)
    return [{"bucket": day, "score": round(sum(s) / len(s), 1)} for day, s in sorted(rows.items())]
