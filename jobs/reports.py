"""The oversight reports made in the background (obcms/reports)."""
from obcms.jobqueue import job
from obcms.reports import services


@job("generate_report")
def generate_report(run, report_id=None):
    """A report of more than REPORTS_DIRECT_LIMIT PPAs: its workbook written to a file kept 7 days for the
    person who asked, rows done reported as it goes (obcms/reports/services.py). Counts: report, ppas (and
    nodes, audit entries for COA). Without a report (Run now): every report still queued."""
    if report_id is None:
        ids = services.queued_report_ids()
        for queued in ids:
            generate_report(run, queued)
        return {"reports": len(ids)}
    try:
        return services.generate_report_file(report_id)
    except Exception as error:
        services.mark_failed(report_id, error)
        raise


@job("purge_expired_reports")
def purge_expired_reports(run):
    """Daily 03:30: generated reports older than 7 days, rows and files. Counts: purged."""
    return services.purge_expired_reports()
