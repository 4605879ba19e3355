"""Alembic migrations of the run store; :mod:`rnn_demo.store.store` applies them on open."""
