"""The Streamlit layer: the only part of the package that imports Streamlit, one module a concern.

* :mod:`~rnn_demo.ui.navigation`: the frame (``run_app``), the registry of
  pages, links between them, ``page_entry`` and ``friendly_errors``;
* :mod:`~rnn_demo.ui.resources`: what all sessions share, read-only and
  cached: the worker pool, datasets, host limits, the training queue, the
  shipped models;
* :mod:`~rnn_demo.ui.live_view`: this session's training, its live view
  and its results; :mod:`~rnn_demo.ui.watch`: *watch it learn* inside the live view;
* :mod:`~rnn_demo.ui.controls`: the Train page's controls, kept in step with
  the URL (:mod:`rnn_demo.app.links`);
* :mod:`~rnn_demo.ui.pickers`: choosing a model (and uploading one) and a digit;
* :mod:`~rnn_demo.ui.drawing`: the drawing canvas and the prediction beside it;
* :mod:`~rnn_demo.ui.inside`: the Look inside page's states and gates, with the
  teaching text of :mod:`rnn_demo.views.teaching`; :mod:`~rnn_demo.ui.lesson`: the Learn page's steps;
* :mod:`~rnn_demo.ui.visitor`: the browser's anonymous key, whose hash owns its runs;
  :mod:`~rnn_demo.ui.runs`: the Runs page and a run's read-only view by link;
* :mod:`~rnn_demo.ui.markers`: the keyed markers the tests and the load test wait on.

This process never imports Keras or TensorFlow: every Keras job (training,
reading an uploaded ``.keras`` file, writing one for a download, loading a
dataset) runs in a worker process (:mod:`rnn_demo.compute.local_pool`), and every
interactive view computes with the NumPy twins.
"""
