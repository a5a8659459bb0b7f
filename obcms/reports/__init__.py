"""The oversight reports as Excel workbooks (DOMAIN.md "Reports (Excel)") and the minimal policy register the
BPDA alignment score needs.

    models.py      Policy, the PPA ↔ policy links, GeneratedReport (a workbook kept 7 days for its requester)
    policies.py    the policy register's rules (create, edit, link to PPAs)
    queries.py     the set-based reads of each report (one statement per sheet, scoped, streamed)
    xlsx.py        the workbook kit: write-only sheets, styles, title block, text that stays text, fixed bytes
    workbooks.py   the three workbooks: columns, rules and remarks
    services.py    asking for a report: at once (≤ 200 PPAs) or as a job; the files of "My reports"
"""
