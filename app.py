"""RNN Lab: the entry point (`streamlit run app.py`, or `make run`).

A frame only: page config and navigation, in :func:`rnn_demo.ui.navigation.run_app`
(the registry of pages, ``PAGES``, is there too). Each page is a short layout
script in ``pages/`` that starts with ``navigation.page_entry()``; the logic
lives in ``rnn_demo``. Why the frame is a function: docs/architecture.md.

The guard: the worker processes (forked from multiprocessing's fork server) import this file
again as ``__mp_main__``, since Streamlit leaves it installed as ``__main__``;
the guard keeps them from drawing the app and starting workers of their own.
"""

if __name__ == "__main__":
    from rnn_demo.ui.navigation import run_app

    run_app()
