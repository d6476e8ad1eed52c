"""State machines as data: each workflow declares a transition table and asks it for the next
state; an action that the table does not allow raises the one error type for that."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _


class IllegalTransition(Exception):
    def __init__(self, state: str, action: str):
        self.state, self.action = state, action
        super().__init__(_("“%(action)s” is not possible in state “%(state)s”.") % {"action": action, "state": state})


Transitions = Mapping[tuple[str, str], str]


def next_state(table: Transitions, state: str, action: str) -> str:
    try:
        return table[(state, action)]
    except KeyError:
        raise IllegalTransition(state, action) from None


def allowed_actions(table: Transitions, state: str) -> list[str]:
    return [action for (source, action) in table if source == state]
