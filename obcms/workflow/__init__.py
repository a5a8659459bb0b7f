"""State machines declared as data, fired through one function; optimistic locking helpers.

    from obcms.workflow import StateMachine, Transition, fire, available_transitions
"""
from .guard import StatusChangeRefused, derived_status  # noqa: F401
from .locking import bump_version, check_version, versioned_update  # noqa: F401
from .machine import StateMachine, Transition, batched, machine_for, register_machine, sets_columns  # noqa: F401
from .services import (  # noqa: F401
    availability_of,
    available_transitions,
    fire,
    fire_many,
    firing_comment,
    transition_for,
    transition_history,
)
