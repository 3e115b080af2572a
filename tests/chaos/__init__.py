"""The chaos harness: a batch on PostgreSQL + Redis with `fulfil worker`s killed, Redis restarted, database
connections dropped and stand-ins failing, then every guarantee checked (``scripts/chaos``; README "Chaos")."""
