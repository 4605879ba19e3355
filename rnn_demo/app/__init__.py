"""What a visitor works with, without Streamlit: models, live trainings, Compare, links, host limits, shipped models."""
