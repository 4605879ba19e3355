"""The NumPy twins: every cell, the whole model, its trace, gradients and state plane, without Keras.

The web process computes every interactive view with these; tests hold them to Keras to 1e-5.
"""
