"""Reading the older system's export: a Django `dumpdata` JSON list of {"model", "pk", "fields"} records, with
foreign keys to users, organizations and PPAs as natural keys (`--natural-foreign`): ["jdoe"], ["MSSD"],
["MSSD-2025-004"]. The three models imported:

    coordination.event               title, description, event_type, start_date, start_time, end_date, end_time,
                                     venue, organization, organizer, participants, is_deleted
    project_central.projectworkflow  ppa, current_stage, stage_history, project_lead, initiated_date,
                                     target_completion_date, actual_completion_date  (pk: a UUID)
    common.stafftask                 title, description, status, priority, start_date, due_date,
                                     estimated_hours, assignees, linked_workflow, linked_ppa, parent,
                                     workflow_stage, is_deleted

Every other model of the export (auth.user, common.region …) is counted and left alone. The file's bytes are
read as UTF-8; the bytes that are not (the older system let cp1252 text through) are read as cp1252, so a
mixed file never stops the import.
"""
import codecs
import hashlib
import json
from dataclasses import dataclass

from ..errors import ValidationFailed

KINDS = {"coordination.event": "event", "project_central.projectworkflow": "project_workflow",
         "common.stafftask": "staff_task"}


def _cp1252_fallback(error):
    """Decode the bytes UTF-8 refused as cp1252 (latin-1 for the five bytes cp1252 leaves undefined)."""
    bad = error.object[error.start:error.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in bad), error.end


@dataclass(frozen=True)
class Record:
    number: int       # its place in the file (1 = the first record)
    kind: str         # event | project_workflow | staff_task
    legacy_id: str    # the pk, as text
    fields: dict
    checksum: str     # of the record as exported (model, pk, fields)


@dataclass(frozen=True)
class Export:
    records: list     # the imported kinds, in file order
    others: dict      # {model: count} of the records left alone
    non_utf8_bytes: int


def decode(data):
    """(text, number of bytes that were not UTF-8)."""
    try:
        return data.decode("utf-8-sig"), 0
    except UnicodeDecodeError:
        pass
    counted = [0]

    def counting(error):
        counted[0] += error.end - error.start
        return _cp1252_fallback(error)

    codecs.register_error("obcms_cp1252_counting", counting)
    text = data.decode("utf-8", errors="obcms_cp1252_counting")
    return text.removeprefix("\ufeff"), counted[0]


def _refuse(message):
    raise ValidationFailed(message, errors={"file": [message]})


def read_export(data):
    """The records of an export file's bytes; ValidationFailed on "file" when it is no dumpdata list."""
    text, non_utf8 = decode(data)
    try:
        rows = json.loads(text)
    except ValueError as error:
        _refuse(f"The file is not JSON: {error}.")
    except RecursionError:
        _refuse("The file is not a dumpdata export: its JSON is nested too deep.")
    if not isinstance(rows, list):
        _refuse("The file is not a dumpdata export (a JSON list of records).")
    records, others = [], {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not isinstance(row.get("fields"), dict) or "model" not in row:
            _refuse(f"Record {number} is not a dumpdata record ({{model, pk, fields}}).")
        kind = KINDS.get(row["model"])
        if kind is None:
            others[row["model"]] = others.get(row["model"], 0) + 1
            continue
        canonical = json.dumps([row["model"], row.get("pk"), row["fields"]], sort_keys=True, ensure_ascii=False)
        records.append(Record(number, kind, str(row.get("pk") if row.get("pk") is not None else ""), row["fields"],
                              hashlib.sha256(canonical.encode()).hexdigest()))
    return Export(records, others, non_utf8)
