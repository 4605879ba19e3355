"""RNN Lab: the entry point (`streamlit run app.py`, or `make run`).

A frame only: page config and navigation, in :func:`rnn_demo.ui.navigation.run_app`
(the registry of pages, ``PAGES``, is there too). Each page is a short layout
script in ``pages/``; the logic lives in ``rnn_demo`` (``ui`` for the Streamlit
layer, ``figures`` for the charts).

Why the frame is a function, and why every page script starts with
``navigation.page_entry()``: Streamlit 1.67 runs the first session after a
server start in its legacy multipage mode when a ``pages/`` folder sits beside
this file, and in that mode a deep link (``/inside``) runs the page script
alone, without this frame. ``page_entry()`` notices a page run outside the
frame and runs the frame instead; the frame's ``st.navigation`` routes the same
URL to the same page (each page's file stem is its URL path) and ends the
legacy mode for the whole server. So the first visitor's page, whatever URL
they open, is drawn exactly like every later visitor's. The navigation
module's docstring has the details.

Why the guard: Streamlit runs this file as a module named ``__main__`` and
leaves it installed as ``sys.modules["__main__"]``, so the worker processes
(started with multiprocessing's "spawn") import this file again, as
``__mp_main__``. The guard keeps them from drawing the app, importing
Streamlit and starting workers of their own: multiprocessing's "safe importing
of the main module" idiom.
"""

if __name__ == "__main__":
    from rnn_demo.ui.navigation import run_app

    run_app()
