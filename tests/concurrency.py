"""Run the same work in several threads at the same moment, each with its own connection and transaction (the
PostgreSQL race tests):

    def work(i, ready):
        with app.app_context():
            ...                # set up what this worker needs
            ready()            # every worker waits here until all are ready, then they go together
            return outcome
    outcomes, errors = at_once(work, workers=2)
"""
import threading


def at_once(work, workers=2, timeout=60):
    """Call work(i, ready) for i in range(workers), each in a thread of its own, released together by `ready()`:
    ([each worker's return value], [repr of each exception raised]), once every thread ended (or `timeout`)."""
    start = threading.Barrier(workers)
    outcomes, errors = [None] * workers, []

    def run(i):
        try:
            outcomes[i] = work(i, lambda: start.wait(timeout=30))
        except Exception as error:  # the caller asserts errors == []
            errors.append(repr(error))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes, errors
