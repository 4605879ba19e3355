"""``rnn-demo`` / ``python -m rnn_demo``: train, evaluate, explain, info and runs from the command line."""
