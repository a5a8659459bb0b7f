"""Object types: the stable names audit rows, transition logs and generic routes use for a model.

    object_type_of(WorkItem)  -> "work_item"     (or the class's own __object_type__)
    model_for("work_item")    -> WorkItem        (None when unknown)
"""
import re

from ..extensions import db
from .mixins import Audited

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def object_type_of(cls_or_obj):
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    return cls.__dict__.get("__object_type__") or _CAMEL.sub("_", cls.__name__).lower()


def model_for(object_type):
    for mapper in db.Model.registry.mappers:
        if object_type_of(mapper.class_) == object_type:
            return mapper.class_
    return None


def audited_object_types():
    return sorted(object_type_of(m.class_) for m in db.Model.registry.mappers if issubclass(m.class_, Audited))
