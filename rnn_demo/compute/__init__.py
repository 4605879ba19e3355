"""Work off the web process: the Keras jobs, and the pools that run them (local worker processes or Ray)."""
