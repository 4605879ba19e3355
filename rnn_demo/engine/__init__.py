"""The Keras side: building, training, scoring and saving models (the only package that imports Keras).

It runs in worker processes (:mod:`rnn_demo.compute`) and the CLI, never in the web process.
"""
