"""Class: a teacher's live board of what every student trained, or a student's way in with a code."""

import streamlit as st

from rnn_demo.ui import classroom, markers
from rnn_demo.ui.navigation import friendly_errors, page_entry

page_entry()

st.title("Class")
with friendly_errors():
    classroom.class_page()
markers.page_ready("class")
