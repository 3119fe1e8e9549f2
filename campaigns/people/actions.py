"""Buttons other apps add to the person page (the rights helper's Export and Erase),
registered like the providers, from an AppConfig.ready():

    from campaigns.people.actions import register_action
    register_action("rights-export", lambda request, subscriber: PersonAction(...))

A callable returns a PersonAction, or None when the user may not use it (it checks
the user's permissions itself; its view checks again)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PersonAction:
    label: str
    url: str
    icon: str = ""
    # "post" for an action that changes something (the page draws a form with CSRF).
    method: str = "get"
    danger: bool = False


_actions: dict[str, Callable] = {}


def register_action(name: str, build: Callable) -> None:
    _actions[name] = build


def person_actions(request, subscriber) -> list[PersonAction]:
    found = []
    for build in _actions.values():
        action = build(request, subscriber)
        if action is not None:
            found.append(action)
    return found
