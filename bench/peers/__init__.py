"""Peer benchmarks: Celery and arq doing Hive's end-to-end no-op task path on Redis."""
