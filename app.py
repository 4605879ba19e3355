"""RNN Lab: the entry point (`streamlit run app.py`, or `make run`).

A frame only: page set-up and navigation. Each page is a short layout script
in ``app_pages/``; the logic lives in ``rnn_demo`` (``ui`` for Streamlit glue,
``figures`` for the charts).
"""

import streamlit as st

st.set_page_config(page_title="RNN Lab", page_icon=":material/gesture:", layout="wide")

pages = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("app_pages/draw.py", title="Draw & predict", icon=":material/draw:", url_path="draw"),
    st.Page("app_pages/inside.py", title="Look inside", icon=":material/visibility:", url_path="inside"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("app_pages/learn.py", title="Learn", icon=":material/school:", url_path="learn"),
]
st.navigation(pages).run()
