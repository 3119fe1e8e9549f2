"""The admin's list of a landing page's submissions and its CSV export: Wagtail's own
view (permissions: whoever may edit the page, as for every Wagtail form), with a CSV
that Excel reads (a UTF-8 byte order mark, which Wagtail's does not write; Chinese
answers otherwise open as mojibake) and that cannot run formulas (a cell starting with
= + - @ or a tab or carriage return is prefixed with an apostrophe, as the project's
other exports do). Wagtail's XLSX export already stores such cells as text.

Imports nothing of this app: the page model names this view (models.LandingPage)."""

import datetime

from django.http import StreamingHttpResponse
from wagtail.contrib.forms.views import SubmissionsListView

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    return "'" + text if text[:1] in FORMULA_STARTS else text


class LeadSubmissionsListView(SubmissionsListView):
    def preprocess_field_value(self, field, value, export_format):
        value = super().preprocess_field_value(field, value, export_format)
        if export_format == self.FORMAT_CSV and isinstance(value, str):
            return spreadsheet_safe(value)
        return value

    def get_filename(self):
        # The slug may be Chinese; an ASCII name survives every browser's download.
        return f"form-{self.form_page.pk}-submissions-{datetime.date.today():%Y-%m-%d}"

    def write_csv_response(self, queryset):
        def stream():
            yield BOM
            yield from self.stream_csv(queryset)

        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.get_filename()}.csv"'
        return response
