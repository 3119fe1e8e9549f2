"""Staff notes on a person: the one place a note is written (the person page's form,
the demo)."""

from __future__ import annotations

from .models import Note


def add_note(subscriber, author, text: str) -> Note:
    return Note.objects.create(subscriber=subscriber, author=author, text=text.strip())
