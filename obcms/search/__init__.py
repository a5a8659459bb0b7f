"""Global search: the header box's live list and the results page (views), one scoped statement per search
(queries), the cache and its invalidation after commits (services), the indexes (index, migration k3_search)."""
