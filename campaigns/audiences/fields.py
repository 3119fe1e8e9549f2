"""A list-valued column that is a native array on PostgreSQL and JSON text elsewhere,
with the three lookups segments need:

- `field__has=x`: holds x (PostgreSQL `@> ARRAY[x]`, a GIN index lookup)
- `field__has_all=[x, y]`: holds every one (`@>`)
- `field__has_any=[x, y]`: holds at least one (`&&`)

On SQLite (the embedded default) the value is a JSON list and the lookups read it with
json_each: the same answers, without an index. Used for Subscriber.tags (text) and
Subscriber.list_ids (integer); see models.py for how they are kept.
"""

from __future__ import annotations

import json

from django.db import models
from django.db.models import Lookup


class ListField(models.Field):
    """A list of `base` values ("text" or "integer"); Python sees a list, [] when empty."""

    description = "A list of values (array on PostgreSQL, JSON on SQLite)"

    def __init__(self, *args, base: str = "text", **kwargs):
        if base not in ("text", "integer"):
            raise ValueError("ListField base must be 'text' or 'integer'")
        self.base = base
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.base != "text":
            kwargs["base"] = self.base
        if kwargs.get("default") is list:
            del kwargs["default"]
        if kwargs.get("blank") is True:
            del kwargs["blank"]
        return name, path, args, kwargs

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return f"{self.base}[]"
        return "text"

    def _item(self, value):
        return int(value) if self.base == "integer" else str(value)

    def to_python(self, value):
        if value is None:
            return []
        if isinstance(value, str):
            value = json.loads(value or "[]")
        return [self._item(v) for v in value]

    def from_db_value(self, value, expression, connection):
        return self.to_python(value)

    def get_prep_value(self, value):
        if value is None:
            return None
        return [self._item(v) for v in value]

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or connection.vendor == "postgresql":
            return value
        return json.dumps(value, ensure_ascii=False)

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)


class _ListLookup(Lookup):
    prepare_rhs = False
    pg_operator = "@>"

    def _values(self) -> list:
        values = self.rhs if isinstance(self.rhs, (list, tuple, set)) else [self.rhs]
        return [self.lhs.output_field._item(v) for v in values]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = self._values()
        if connection.vendor == "postgresql":
            cast = self.lhs.output_field.base
            return f"{lhs} {self.pg_operator} %s::{cast}[]", [*lhs_params, values]
        return self.sqlite_sql(lhs, list(lhs_params), values)

    def sqlite_sql(self, lhs, lhs_params, values):
        if not values:
            return "1 = 1", []
        parts = [f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE value = %s)" for _ in values]
        params = []
        for value in values:
            params += [*lhs_params, value]
        return "(" + " AND ".join(parts) + ")", params


@ListField.register_lookup
class Has(_ListLookup):
    lookup_name = "has"


@ListField.register_lookup
class HasAll(_ListLookup):
    lookup_name = "has_all"


@ListField.register_lookup
class HasAny(_ListLookup):
    lookup_name = "has_any"
    pg_operator = "&&"

    def sqlite_sql(self, lhs, lhs_params, values):
        if not values:
            return "1 = 0", []
        marks = ", ".join(["%s"] * len(values))
        return (
            f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE value IN ({marks}))",
            [*lhs_params, *values],
        )
