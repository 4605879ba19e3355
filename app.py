"""RNN Lab: the entry point (`streamlit run app.py`, or `make run`).

Two roles, one file. ``streamlit run`` first imports it as the module ``app``:
``app`` is then the server (:class:`streamlit.App`), which warms up before it
answers anything (:mod:`rnn_demo.ui.startup`) and lets browsers keep the chart
library (:class:`rnn_demo.ui.charts.CacheChartLibrary`). Each session's script run executes
it as ``__main__``: the frame, page config and navigation, in
:func:`rnn_demo.ui.navigation.run_app` (the registry of pages, ``PAGES``, is
there too). Each page is a short layout script in ``pages/`` that starts with
``navigation.page_entry()``; the logic lives in ``rnn_demo``. Why the frame is
a function: docs/architecture.md.

The worker processes (forked from multiprocessing's fork server) import this file
again as ``__mp_main__``, since Streamlit leaves it installed as ``__main__``;
neither branch runs there, so they neither draw the app nor start a server.
"""

if __name__ == "__main__":
    from rnn_demo.ui.navigation import run_app

    run_app()
elif __name__ == "app":
    import streamlit as st
    from starlette.middleware import Middleware

    from rnn_demo.ui.charts import CacheChartLibrary
    from rnn_demo.ui.startup import lifespan

    app = st.App("app.py", lifespan=lifespan, middleware=[Middleware(CacheChartLibrary)])
