"""rnn_demo: the chapter's recurrent networks on 16×16 MNIST, as a live teaching app."""

import os

# Take GPU memory as needed rather than all of it up front, so that a shared
# host can run several trainings (and other programs) on one card. These must
# be set before TensorFlow or JAX initialise the GPU.
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
# TensorFlow's C++ start-up chatter is noise in a CLI and in the app's logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
