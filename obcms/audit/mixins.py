"""Opt a model into the audit trail.

    class Ppa(Audited, db.Model):
        __audit_exclude__ = ("search_vector",)      # columns never recorded
        __audit_personal__ = ("contact_phone",)     # columns always stored redacted

The flush listener (obcms/audit/listener.py) records create/update/delete of every Audited model in the same
transaction. Password hashes and secrets are never recorded.
"""


class Audited:
    __audit__ = True
    __audit_exclude__ = ()
    __audit_personal__ = ()
